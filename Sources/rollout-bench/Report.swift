import Glibc

/// `value` with exactly `digits` decimals ("-" when it is not a finite number).
func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return "-" }
    var scale: Int64 = 1
    for _ in 0..<digits { scale *= 10 }
    let scaled = Int64((abs(value) * Double(scale)).rounded())
    let sign = value < 0 && scaled != 0 ? "-" : ""
    let whole = String(scaled / scale)
    guard digits > 0 else { return sign + whole }
    let fraction = String(scaled % scale)
    return sign + whole + "." + String(repeating: "0", count: digits - fraction.count) + fraction
}

private func mebibytes(_ kibibytes: Int?) -> Double {
    kibibytes.map { Double($0) / 1024 } ?? .nan
}

private func padded(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
}

private func onlineCPUs() -> Int {
    sysconf(Int32(_SC_NPROCESSORS_ONLN))
}

extension Figures {
    var latencyRatio: Double { daemon.latency.p50Micros / baseline.latency.p50Micros }
    var throughputRatio: Double { daemon.throughput.requestsPerSecond / baseline.throughput.requestsPerSecond }

    /// Loud lines for anything that makes the figures suspect (empty in a clean run).
    var problems: [String] {
        var lines: [String] = []
        if daemon.errors > 0 {
            lines.append("ERROR: \(daemon.errors) rolloutd responses had no \"result\" (latency \(daemon.latency.errors), throughput \(daemon.throughput.errors))")
        }
        if baseline.errors > 0 {
            lines.append("ERROR: \(baseline.errors) baseline responses had no \"result\"")
        }
        for (index, status) in daemonExits.enumerated() where status != .exited(0) {
            lines.append("ERROR: rolloutd start \(index + 1) ended with \(status) on SIGTERM (expected exit 0)")
        }
        return lines
    }

    func table() -> String {
        let widths = [30, 14, 28, 9]
        func row(_ cells: String...) -> String {
            var line = ""
            for (index, cell) in cells.enumerated() {
                line += index < widths.count && index < cells.count - 1 ? padded(cell, widths[index]) : cell
            }
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }
        let ratio: (Double) -> String = { fixed($0, 2) + "x" }
        var lines = [
            row("figure", "rolloutd", "baseline (python asyncio)", "ratio", "target"),
            row(
                "sys.ping p50 (µs)", fixed(daemon.latency.p50Micros, 1), fixed(baseline.latency.p50Micros, 1),
                ratio(latencyRatio), "<= 50"),
            row("sys.ping p99 (µs)", fixed(daemon.latency.p99Micros, 1), fixed(baseline.latency.p99Micros, 1)),
            row("sys.ping p99.9 (µs)", fixed(daemon.latency.p999Micros, 1), fixed(baseline.latency.p999Micros, 1)),
            row(
                "pipelined req/s (\(options.connections) conns)", fixed(daemon.throughput.requestsPerSecond, 0),
                fixed(baseline.throughput.requestsPerSecond, 0), ratio(throughputRatio), ">= 2.0x baseline"),
            row(
                "idle RSS (MiB)", fixed(mebibytes(daemon.memory?.rssKiB), 1),
                fixed(mebibytes(baseline.memory?.rssKiB), 1), "", "<= 20"),
            row(
                "peak RSS, VmHWM (MiB)", fixed(mebibytes(daemon.memory?.peakKiB), 1),
                fixed(mebibytes(baseline.memory?.peakKiB), 1)),
            row("ready time (ms, median of \(readyMillis.count))", fixed(readyMedianMillis, 1), "-", "", "<= 200"),
        ]
        lines.append("")
        let readyTimes = readyMillis.map { fixed($0, 1) }.joined(separator: ", ")
        let shutdownTimes = shutdownMillis.map { fixed($0, 1) }.joined(separator: ", ")
        lines.append("ready times (ms): \(readyTimes); SIGTERM to exit (ms): \(shutdownTimes)")
        let cleanExits = daemonExits.allSatisfy { $0 == .exited(0) }
        let exitSummary =
            cleanExits
            ? "exit 0 (all \(daemonExits.count) starts)" : daemonExits.map(\.description).joined(separator: ", ")
        lines.append("rolloutd on SIGTERM: " + exitSummary)
        lines.append("response errors: rolloutd \(daemon.errors), baseline \(baseline.errors)")
        let latencySettings =
            "latency: \(options.requests) sequential requests after \(options.warmupRequests) warm-up, one connection"
        let throughputSettings =
            "throughput: \(options.connections) connections x \(options.window) in flight, "
            + "\(fixed(options.seconds, 1)) s after \(fixed(options.warmupSeconds, 1)) s warm-up"
        lines.append("\(latencySettings); \(throughputSettings); \(onlineCPUs()) CPUs shared by client and servers")
        if !notes.isEmpty {
            lines.append("notes:")
            lines += notes.map { "  - " + $0 }
        }
        if !problems.isEmpty {
            lines.append("")
            lines += problems.map { "!!! " + $0 }
        }
        return lines.joined(separator: "\n")
    }

    func json() -> String {
        func number(_ value: Double, _ digits: Int) -> String { value.isFinite ? fixed(value, digits) : "null" }
        func object(_ members: [(String, String)]) -> String {
            "{" + members.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
        }
        func array(_ items: [String]) -> String { "[" + items.joined(separator: ",") + "]" }
        func side(_ figures: ServerFigures) -> [(String, String)] {
            [
                ("ping_p50_us", number(figures.latency.p50Micros, 1)),
                ("ping_p99_us", number(figures.latency.p99Micros, 1)),
                ("ping_p999_us", number(figures.latency.p999Micros, 1)),
                ("pipelined_rps", number(figures.throughput.requestsPerSecond, 0)),
                ("idle_rss_mib", number(mebibytes(figures.memory?.rssKiB), 2)),
                ("peak_rss_mib", number(mebibytes(figures.memory?.peakKiB), 2)),
                ("errors", String(figures.errors)),
            ]
        }
        let exitCode: String =
            if case .exited(let code) = finalExit { String(code) } else { "null" }
        let daemonMembers =
            side(daemon) + [
                ("ready_ms_median", number(readyMedianMillis, 1)),
                ("ready_ms", array(readyMillis.map { number($0, 1) })),
                ("shutdown_ms", array(shutdownMillis.map { number($0, 1) })),
                ("exit_code", exitCode),
                ("exit_statuses", array(daemonExits.map { jsonString($0.description) })),
            ]
        return object([
            ("rolloutd", object(daemonMembers)),
            ("baseline", object(side(baseline))),
            ("ratio", object([("ping_p50", number(latencyRatio, 2)), ("pipelined_rps", number(throughputRatio, 2))])),
            (
                "target",
                object([
                    ("ping_p50_us_max", "50"), ("pipelined_ratio_min", "2.0"), ("idle_rss_mib_max", "20"),
                    ("ready_ms_max", "200"),
                ])
            ),
            (
                "settings",
                object([
                    ("requests", String(options.requests)), ("warmup_requests", String(options.warmupRequests)),
                    ("seconds", number(options.seconds, 3)), ("warmup_seconds", number(options.warmupSeconds, 3)),
                    ("connections", String(options.connections)), ("window", String(options.window)),
                    ("ready_runs", String(options.readyRuns)), ("cpus", String(onlineCPUs())),
                ])
            ),
            ("errors", array(problems.map(jsonString))),
            ("notes", array(notes.map(jsonString))),
        ])
    }
}

/// `text` as a JSON string literal.
func jsonString(_ text: String) -> String {
    var out = "\""
    for scalar in text.unicodeScalars {
        switch scalar {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\t": out += "\\t"
        case "\r": out += "\\r"
        default:
            if scalar.value < 0x20 {
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            } else {
                out.unicodeScalars.append(scalar)
            }
        }
    }
    return out + "\""
}
