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
        if let aws {
            if aws.errors > 0 {
                lines.append(
                    "ERROR: \(aws.errors) responses of rolloutd on provider aws had no \"result\" "
                        + "(secret.get \(aws.secretGet.errors), sys.ping \(aws.ping.errors))")
            }
            if aws.exit != .exited(0) {
                lines.append("ERROR: rolloutd on provider aws ended with \(aws.exit) on SIGTERM (expected exit 0)")
            }
        }
        if let metrics {
            if metrics.errors > 0 {
                lines.append("ERROR: \(metrics.errors) sys.ping responses in the metrics on/off comparison had no \"result\"")
            }
            if metrics.exit != .exited(0) {
                lines.append("ERROR: rolloutd with [server.http] ended with \(metrics.exit) on SIGTERM (expected exit 0)")
            }
        }
        if let sigv4, sigv4.signaturesDiffer {
            lines.append(
                "ERROR: SigV4: our Authorization header for the benchmark request differs from botocore's, so the "
                    + "two did not sign the same request\n    ours:     \(sigv4.ours.referenceAuthorization)\n"
                    + "    botocore: \(sigv4.botocoreAuthorization ?? "")")
        }
        return lines
    }

    /// Cached `secret.get` p50 ÷ `sys.ping` p50 on the same daemon.
    var secretGetRatio: Double {
        guard let aws else { return .nan }
        return aws.secretGet.p50Micros / aws.ping.p50Micros
    }

    /// Our SigV4 signatures per second ÷ botocore's.
    var sigv4Ratio: Double {
        guard let sigv4, let botocore = sigv4.botocoreSignaturesPerSecond else { return .nan }
        return sigv4.ours.signaturesPerSecond / botocore
    }

    static let skippedWithoutMoto = "skipped (needs moto: run make bench)"

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
        let ratio: (Double) -> String = { $0.isFinite ? fixed($0, 2) + "x" : "-" }
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
        if let metrics {
            lines += [
                row("", "", "baseline: sys.ping with no HTTP listener (no-op metrics)"),
                row(
                    "sys.ping p50, metrics on (µs)", fixed(metrics.on.p50Micros, 1), fixed(metrics.off.p50Micros, 1),
                    "+" + fixed(metrics.p50OverheadMicros, 2), "<= +2 µs"),
                row("sys.ping p99, metrics on (µs)", fixed(metrics.on.p99Micros, 1), fixed(metrics.off.p99Micros, 1)),
            ]
        }
        if let aws {
            lines += [
                row("", "", "baseline: sys.ping on the same daemon (provider aws, moto)"),
                row(
                    "secret.get p50, cached (µs)", fixed(aws.secretGet.p50Micros, 1), fixed(aws.ping.p50Micros, 1),
                    ratio(secretGetRatio), "<= 100"),
                row("secret.get p99, cached (µs)", fixed(aws.secretGet.p99Micros, 1), fixed(aws.ping.p99Micros, 1)),
            ]
        } else {
            lines.append(row("secret.get p50, cached (µs)", Self.skippedWithoutMoto))
        }
        if let sigv4 {
            lines += [
                row("", "", "baseline: botocore S3SigV4Auth (python, one thread)"),
                row(
                    "SigV4 signatures/s (S3 PUT)", fixed(sigv4.ours.signaturesPerSecond, 0),
                    sigv4.botocoreSignaturesPerSecond.map { fixed($0, 0) } ?? "-", ratio(sigv4Ratio), "-"),
            ]
        } else {
            lines.append(row("SigV4 signatures/s (S3 PUT)", Self.skippedWithoutMoto))
        }
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
        if let aws, let endpoint = options.motoEndpoint {
            lines.append(
                "provider aws: moto at \(endpoint), secret \(options.secret) (cache_ttl_secs 3600, warmed by one call, "
                    + "second answer \"cached\":true); secret.get and sys.ping: \(options.requests) each after \(options.warmupRequests) "
                    + "warm-up, one connection each, alternating in 10 blocks; "
                    + "p99.9 secret.get \(fixed(aws.secretGet.p999Micros, 1)) µs, sys.ping \(fixed(aws.ping.p999Micros, 1)) µs")
            lines.append(
                "rolloutd (aws): ready \(fixed(aws.readyMillis, 1)) ms; SIGTERM to exit \(fixed(aws.shutdownMillis, 1)) ms, "
                    + "\(aws.exit); response errors \(aws.errors)")
        }
        if let sigv4 {
            let check: String =
                switch sigv4.botocoreAuthorization {
                case nil: "not compared (no botocore figures)"
                case let theirs? where theirs == sigv4.ours.referenceAuthorization:
                    "identical to botocore's at the reference date"
                case _?: "DIFFERENT from botocore's at the reference date"
                }
            lines.append(
                "SigV4: \(sigv4.ours.signatures) signatures in \(fixed(sigv4.ours.seconds, 2)) s, one thread, "
                    + "fresh request copy and date each time; Authorization header \(check)")
        }
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
        let awsObject: String =
            if let aws {
                object([
                    ("secret_get_p50_us", number(aws.secretGet.p50Micros, 1)),
                    ("secret_get_p99_us", number(aws.secretGet.p99Micros, 1)),
                    ("secret_get_p999_us", number(aws.secretGet.p999Micros, 1)),
                    ("baseline", jsonString("sys.ping on the same daemon")),
                    ("ping_p50_us", number(aws.ping.p50Micros, 1)),
                    ("ping_p99_us", number(aws.ping.p99Micros, 1)),
                    ("ping_p999_us", number(aws.ping.p999Micros, 1)),
                    ("ready_ms", number(aws.readyMillis, 1)),
                    ("shutdown_ms", number(aws.shutdownMillis, 1)),
                    ("exit_status", jsonString(aws.exit.description)),
                    ("errors", String(aws.errors)),
                    ("moto_endpoint", jsonString(options.motoEndpoint ?? "")),
                    ("secret", jsonString(options.secret)),
                ])
            } else {
                object([("skipped", jsonString(Self.skippedWithoutMoto))])
            }
        let sigv4Object: String =
            if let sigv4 {
                object([
                    ("signatures_per_second", number(sigv4.ours.signaturesPerSecond, 0)),
                    ("signatures", String(sigv4.ours.signatures)),
                    ("seconds", number(sigv4.ours.seconds, 3)),
                    ("baseline", jsonString("botocore S3SigV4Auth")),
                    ("botocore_signatures_per_second", number(sigv4.botocoreSignaturesPerSecond ?? .nan, 0)),
                    (
                        "authorization_matches_botocore",
                        sigv4.botocoreAuthorization.map { String($0 == sigv4.ours.referenceAuthorization) } ?? "null"
                    ),
                ])
            } else {
                object([("skipped", jsonString(Self.skippedWithoutMoto))])
            }
        let metricsObject: String =
            if let metrics {
                object([
                    ("ping_p50_us_on", number(metrics.on.p50Micros, 2)),
                    ("ping_p50_us_off", number(metrics.off.p50Micros, 2)),
                    ("ping_p50_overhead_us", number(metrics.p50OverheadMicros, 2)),
                    ("ping_p99_us_on", number(metrics.on.p99Micros, 1)),
                    ("ping_p99_us_off", number(metrics.off.p99Micros, 1)),
                    ("exit_status", jsonString(metrics.exit.description)),
                    ("errors", String(metrics.errors)),
                ])
            } else {
                object([("skipped", jsonString("not measured"))])
            }
        return object([
            ("rolloutd", object(daemonMembers)),
            ("baseline", object(side(baseline))),
            ("metrics", metricsObject),
            ("aws", awsObject),
            ("sigv4", sigv4Object),
            (
                "ratio",
                object([
                    ("ping_p50", number(latencyRatio, 2)), ("pipelined_rps", number(throughputRatio, 2)),
                    ("secret_get_p50_vs_ping_p50", number(secretGetRatio, 2)),
                    ("sigv4_vs_botocore", number(sigv4Ratio, 2)),
                ])
            ),
            (
                "target",
                object([
                    ("ping_p50_us_max", "50"), ("pipelined_ratio_min", "2.0"), ("idle_rss_mib_max", "20"),
                    ("ready_ms_max", "200"), ("secret_get_p50_us_max", "100"), ("metrics_ping_p50_overhead_us_max", "2"),
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
