import Glibc

/// What one server (rolloutd or the baseline) measured.
struct ServerFigures {
    var latency: LatencyResult
    var throughput: ThroughputResult
    var memory: MemoryUsage?

    var errors: Int { latency.errors + throughput.errors }
}

/// Everything the run measured and noticed.
struct Figures {
    var options: Options
    var daemon: ServerFigures
    var baseline: ServerFigures
    /// Start-to-first-ping times of every rolloutd start, in start order.
    var readyMillis: [Double]
    /// How each rolloutd start ended on SIGTERM, in start order (the last one after the load).
    var daemonExits: [ExitStatus]
    /// SIGTERM-to-exit times of every rolloutd start.
    var shutdownMillis: [Double]
    /// Things worth a person's attention (odd daemon behaviour); none in a clean run.
    var notes: [String]
    /// rolloutd on provider aws against moto (nil without `--moto-endpoint`).
    var aws: AWSFigures?
    /// SigV4 signing, ours and botocore's (nil without `--moto-endpoint`).
    var sigv4: SigV4Figures?
    /// `sys.ping` with the metrics listener off and on (nil when it could not be measured).
    var metrics: MetricsFigures?

    var readyMedianMillis: Double { median(readyMillis) }
    var finalExit: ExitStatus? { daemonExits.last }
    var failed: Bool {
        daemon.errors > 0 || baseline.errors > 0 || daemonExits.contains { $0 != .exited(0) }
            || (aws?.failed ?? false) || (sigv4?.signaturesDiffer ?? false) || (metrics?.failed ?? false)
    }
}

/// The second rolloutd, on provider aws against moto: cached `secret.get` and, as its baseline,
/// `sys.ping` on the same daemon.
struct AWSFigures {
    var secretGet: LatencyResult
    var ping: LatencyResult
    var readyMillis: Double
    var exit: ExitStatus
    var shutdownMillis: Double

    var errors: Int { secretGet.errors + ping.errors }
    var failed: Bool { errors > 0 || exit != .exited(0) }
}

/// The cost of metrics on the request path: `sys.ping` on two local-provider daemons measured
/// in alternating blocks, one without `[server.http]` (no-op metrics) and one with it (the
/// Prometheus registry collecting every request).
struct MetricsFigures {
    var off: LatencyResult
    var on: LatencyResult
    var exit: ExitStatus

    /// p50 with metrics minus p50 without, in microseconds.
    var p50OverheadMicros: Double { on.p50Micros - off.p50Micros }
    var errors: Int { off.errors + on.errors }
    var failed: Bool { errors > 0 || exit != .exited(0) }
}

/// SigV4 signatures per second: ours (in process), then botocore's (bench/botocore_sign_rate.py,
/// run right after ours). botocore's figures are nil when that script failed.
struct SigV4Figures {
    var ours: SigV4Result
    var botocoreSignaturesPerSecond: Double?
    /// botocore's Authorization header for the same request at the reference date.
    var botocoreAuthorization: String?

    /// True when botocore's header is known and ours differs: then the two did not sign the same thing.
    var signaturesDiffer: Bool { botocoreAuthorization.map { $0 != ours.referenceAuthorization } ?? false }
}

func median(_ values: [Double]) -> Double {
    guard !values.isEmpty else { return .nan }
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// One benchmark run: a temporary directory with a config, rolloutd and the Python baseline.
/// Used only from the main thread.
final class Bench {
    private let options: Options
    private let directory: String
    private var daemon: ChildProcess?
    private var baseline: ChildProcess?
    private var awsDaemon: ChildProcess?
    private var metricsDaemon: ChildProcess?
    private var notes: [String] = []

    private var daemonSocket: String { directory + "/r.sock" }
    private var baselineSocket: String { directory + "/echo.sock" }
    private var configPath: String { directory + "/rolloutd.toml" }
    private var daemonLog: String { directory + "/rolloutd.log" }
    private var baselineLog: String { directory + "/echo_server.log" }
    private var awsSocket: String { directory + "/a.sock" }
    private var awsConfigPath: String { directory + "/rolloutd-aws.toml" }
    private var awsLog: String { directory + "/rolloutd-aws.log" }
    private var metricsSocket: String { directory + "/m.sock" }
    private var metricsConfigPath: String { directory + "/rolloutd-metrics.toml" }
    private var metricsLog: String { directory + "/rolloutd-metrics.log" }

    init(options: Options) throws {
        self.options = options
        directory = try makeTemporaryDirectory()
    }

    func run() throws -> Figures {
        try checkInputs()
        try writeConfig()

        // 1-2. Ready time: start, measure, stop; the last start stays up.
        var readyMillis: [Double] = []
        var exits: [ExitStatus] = []
        var shutdowns: [Double] = []
        for run in 1...options.readyRuns {
            progress("starting rolloutd (\(run)/\(options.readyRuns))")
            let (process, milliseconds) = try startDaemon()
            readyMillis.append(milliseconds)
            if run == options.readyRuns {
                daemon = process
            } else {
                let stopped = stop(process)
                exits.append(stopped.status)
                shutdowns.append(stopped.milliseconds)
            }
        }

        // 5. The baseline.
        progress("starting the baseline (\(options.echoServer))")
        let baselineProcess = try ChildProcess.spawn(
            name: "echo_server.py", executable: options.python, arguments: [options.echoServer, baselineSocket],
            logPath: baselineLog, searchPath: true)
        baseline = baselineProcess
        _ = try waitUntilReady(baselineProcess, socket: baselineSocket, timeoutSeconds: 15)

        // 3-4. The same clients against both.
        progress("rolloutd: latency")
        let daemonLatency = try latency(on: daemonSocket)
        progress("rolloutd: throughput")
        let daemonThroughput = try throughput(on: daemonSocket)
        progress("baseline: latency")
        let baselineLatency = try latency(on: baselineSocket)
        progress("baseline: throughput")
        let baselineThroughput = try throughput(on: baselineSocket)

        // The metrics overhead: a second daemon with the HTTP listener, against the first.
        let metrics = try measureMetricsOverhead()

        // 6. Idle memory, one second after the load.
        sleepNanos(1_000_000_000)
        let daemonMemory = daemon?.memory()
        let baselineMemory = baselineProcess.memory()
        if daemonMemory == nil { notes.append("could not read /proc/<rolloutd pid>/status (did rolloutd exit?)") }

        // 7. Stop both.
        if let daemon {
            let stopped = stop(daemon)
            exits.append(stopped.status)
            shutdowns.append(stopped.milliseconds)
            self.daemon = nil
        }
        baselineProcess.terminate(timeoutSeconds: 5)
        baseline = nil
        inspectLog(daemonLog, name: "rolloutd", starts: options.readyRuns)

        // 8-9. With moto: a second rolloutd on provider aws (cached secret.get), then SigV4 signing,
        // each with nothing else of ours running.
        var aws: AWSFigures?
        var sigv4: SigV4Figures?
        if let endpoint = options.motoEndpoint {
            aws = try measureAWS(endpoint: endpoint)
            progress("SigV4: AWSSigV4 signing for \(fixed(options.signSeconds, 1)) s")
            let ours = measureSigV4(seconds: options.signSeconds)
            progress("SigV4: botocore signing for \(fixed(options.signSeconds, 1)) s (\(options.botocoreScript))")
            let botocore = try measureBotocore()
            sigv4 = SigV4Figures(
                ours: ours, botocoreSignaturesPerSecond: botocore?.rate, botocoreAuthorization: botocore?.authorization)
        }

        let daemonFigures = ServerFigures(latency: daemonLatency, throughput: daemonThroughput, memory: daemonMemory)
        let baselineFigures = ServerFigures(
            latency: baselineLatency, throughput: baselineThroughput, memory: baselineMemory)
        return Figures(
            options: options, daemon: daemonFigures, baseline: baselineFigures, readyMillis: readyMillis,
            daemonExits: exits, shutdownMillis: shutdowns, notes: notes, aws: aws, sigv4: sigv4, metrics: metrics)
    }

    /// Starts a second local rolloutd with `[server.http] listen` (metrics collected), measures
    /// `sys.ping` on it and on the first one (no listener, no-op metrics) in alternating blocks,
    /// checks that the second one's `/metrics` counted the pings, and stops it.
    private func measureMetricsOverhead() throws -> MetricsFigures {
        let port = try freeLoopbackPort()
        for sub in ["metrics-state", "metrics-local"] { try makeDirectory(directory + "/" + sub) }
        try writeFile(
            metricsConfigPath,
            """
            [server]
            socket = "\(metricsSocket)"
            state_dir = "\(directory)/metrics-state"
            file_roots = ["\(directory)/files"]
            [server.http]
            listen = "127.0.0.1:\(port)"
            [cloud]
            provider = "local"
            [cloud.local]
            root = "\(directory)/metrics-local"

            """)
        progress("starting rolloutd with [server.http] (metrics on, port \(port))")
        let process = try ChildProcess.spawn(
            name: "rolloutd (metrics)", executable: options.daemon,
            arguments: ["--config", metricsConfigPath, "--log-level", "warning"],
            logPath: metricsLog, searchPath: false)
        metricsDaemon = process
        _ = try waitUntilReady(process, socket: metricsSocket, timeoutSeconds: 30)
        progress("sys.ping latency, metrics off vs on, interleaved")
        let measured = try measureInterleavedLatency(
            targets: [(daemonSocket, .ping), (metricsSocket, .ping)], warmup: options.warmupRequests,
            requests: options.requests)
        // The listener must have counted the pings, or "on" did not measure the metrics.
        let scrape = (try? httpGet(port: port, path: "/metrics")) ?? ""
        if !scrape.contains(#"rolloutd_rpc_requests_total{method="sys.ping",outcome="ok"}"#) {
            notes.append("the metrics daemon's /metrics did not show the sys.ping counter; the overhead row may not measure metrics")
        }
        let stopped = stop(process, socket: metricsSocket)
        metricsDaemon = nil
        inspectLog(metricsLog, name: "rolloutd (metrics)", starts: 1)
        return MetricsFigures(off: measured[0], on: measured[1], exit: stopped.status)
    }

    /// Starts rolloutd on provider aws against moto, checks that the second `secret.get` comes
    /// from the cache, measures cached `secret.get` and `sys.ping` round trips (interleaved), and
    /// stops it.
    private func measureAWS(endpoint: String) throws -> AWSFigures {
        try writeAWSConfig()
        progress("starting rolloutd on provider aws (moto at \(endpoint))")
        let start = monotonicNanos()
        let process = try ChildProcess.spawn(
            name: "rolloutd (aws)", executable: options.daemon,
            arguments: ["--config", awsConfigPath, "--log-level", "warning"],
            logPath: awsLog, searchPath: false, environment: awsEnvironment(endpoint: endpoint))
        awsDaemon = process
        let ready = try waitUntilReady(process, socket: awsSocket, timeoutSeconds: 30)
        let readyMillis = Double(ready - start) / 1e6

        let secretRequest = RequestTemplate(method: "secret.get", params: #"{"name":\#(jsonString(options.secret))}"#)
        do {
            let connection = try Connection.connect(path: awsSocket)
            _ = try secretResponse(connection, secretRequest, id: 1, call: "the first secret.get")
            let second = try secretResponse(connection, secretRequest, id: 2, call: "the second secret.get")
            guard Self.contains(second, #""cached":true"#) else {
                throw BenchError(
                    "the second secret.get \(options.secret) was not answered from the cache (no \"cached\":true); "
                        + "is [cloud.aws.secrets].cache_ttl_secs honoured?")
            }
        }

        progress("rolloutd (aws): cached secret.get and sys.ping latency, interleaved")
        let measured = try measureInterleavedLatency(
            socketPath: awsSocket, templates: [secretRequest, .ping], warmup: options.warmupRequests,
            requests: options.requests)
        let (secretGet, ping) = (measured[0], measured[1])
        do {
            let connection = try Connection.connect(path: awsSocket)
            let last = try secretResponse(connection, secretRequest, id: 1, call: "secret.get after the load")
            if !Self.contains(last, #""cached":true"#) {
                notes.append("secret.get after the load was not answered from the cache (the figures may include fetches)")
            }
        }

        let stopped = stop(process, socket: awsSocket)
        inspectLog(awsLog, name: "rolloutd (aws)", starts: 1)
        return AWSFigures(
            secretGet: secretGet, ping: ping, readyMillis: readyMillis, exit: stopped.status,
            shutdownMillis: stopped.milliseconds)
    }

    /// Runs bench/botocore_sign_rate.py and reads its JSON line. A failure is a note (the row's
    /// baseline stays blank), not the end of the run.
    private func measureBotocore() throws -> (rate: Double, authorization: String)? {
        let output = directory + "/botocore_sign_rate.out"
        let process = try ChildProcess.spawn(
            name: "botocore_sign_rate.py", executable: options.python,
            arguments: [options.botocoreScript, "--seconds", String(options.signSeconds)],
            logPath: output, searchPath: true)
        let deadline = monotonicNanos() + UInt64((options.signSeconds + 60) * 1e9)
        while !process.hasExited() {
            if monotonicNanos() >= deadline {
                process.terminate(timeoutSeconds: 5)
                notes.append("botocore_sign_rate.py did not finish within a minute; no botocore SigV4 baseline")
                return nil
            }
            sleepNanos(10_000_000)
        }
        let text = readFile(output) ?? ""
        let line = text.split(separator: "\n").last { $0.hasPrefix("{") }.map(String.init) ?? ""
        guard process.status == .exited(0),
            let rate = jsonMember(line, "signatures_per_second").flatMap(Double.init), rate > 0,
            let authorization = jsonMember(line, "reference_authorization")
        else {
            let tail = text.split(separator: "\n").suffix(5).map { "    " + $0.prefix(300) }.joined(separator: "\n")
            notes.append(
                "botocore_sign_rate.py failed (\(process.status.map(String.init(describing:)) ?? "?")); "
                    + "no botocore SigV4 baseline:\n" + tail)
            return nil
        }
        return (rate, authorization)
    }

    /// Sends one `secret.get` and returns its response line; throws unless it is a result.
    private func secretResponse(
        _ connection: Connection, _ template: RequestTemplate, id: UInt64, call: String
    ) throws -> [UInt8] {
        var request: [UInt8] = []
        template.append(id: id, to: &request)
        try connection.send(request)
        let line = try connection.nextLine()
        guard Self.contains(line, #""result""#) else {
            // Not a result, so an error object: it carries no secret value.
            throw BenchError(
                "\(call) (\(options.secret)) failed: \(String(decoding: line.prefix(600), as: UTF8.self))")
        }
        return line
    }

    /// The value of `"key"` in a flat JSON object on one line: a number's text, or a string
    /// without escapes; nil otherwise.
    private func jsonMember(_ line: String, _ key: String) -> String? {
        let needle = "\"\(key)\""
        guard let start = line.indices.first(where: { line[$0...].hasPrefix(needle) }) else { return nil }
        var rest = line[start...].dropFirst(needle.count).drop { $0 == " " }
        guard rest.first == ":" else { return nil }
        rest = rest.dropFirst().drop { $0 == " " }
        if rest.first == "\"" {
            let value = rest.dropFirst().prefix { $0 != "\"" && $0 != "\\" }
            let after = rest.dropFirst().dropFirst(value.count)
            return after.first == "\"" ? String(value) : nil
        }
        let number = rest.prefix { "0123456789.eE+-".contains($0) }
        return number.isEmpty ? nil : String(number)
    }

    private static func contains(_ line: [UInt8], _ text: String) -> Bool {
        let needle = Array(text.utf8)
        guard needle.count <= line.count else { return false }
        return (0...(line.count - needle.count)).contains { line[$0..<($0 + needle.count)].elementsEqual(needle) }
    }

    private func writeAWSConfig() throws {
        try makeDirectory(directory + "/aws-state")
        try makeDirectory(directory + "/files")
        try writeFile(
            awsConfigPath,
            """
            [server]
            socket = "\(awsSocket)"
            state_dir = "\(directory)/aws-state"
            file_roots = ["\(directory)/files"]
            [cloud]
            provider = "aws"
            region = "us-east-1"
            [cloud.aws.secrets]
            allowlist = [\(jsonString(options.secret))]
            cache_ttl_secs = 3600

            """)
    }

    /// This process's environment without `AWS_*` and proxy variables, plus moto's endpoint and
    /// its static test credentials; no config files and no instance metadata, so nothing else on
    /// the machine can change where rolloutd sends requests or which credentials it uses.
    private func awsEnvironment(endpoint: String) -> [String] {
        let dropped = ["http_proxy", "https_proxy", "all_proxy", "no_proxy"]
        let inherited = ChildProcess.currentEnvironment().filter { variable in
            let name = String(variable.prefix { $0 != "=" })
            return !name.hasPrefix("AWS_") && !dropped.contains(name.lowercased())
        }
        return inherited + [
            "AWS_ACCESS_KEY_ID=testing",
            "AWS_SECRET_ACCESS_KEY=testing",
            "AWS_ENDPOINT_URL=" + endpoint,
            "AWS_EC2_METADATA_DISABLED=true",
            "AWS_CONFIG_FILE=/nonexistent",
            "AWS_SHARED_CREDENTIALS_FILE=/nonexistent",
        ]
    }

    /// Stops whatever is still running and deletes the temporary directory.
    /// After a failure, the tail of each log goes to stderr first.
    func cleanup(showLogs: Bool) {
        for process in [daemon, baseline, awsDaemon, metricsDaemon].compactMap({ $0 }) {
            process.terminate(timeoutSeconds: 5)
        }
        if showLogs {
            for (name, path) in [("rolloutd", daemonLog), ("echo_server.py", baselineLog), ("rolloutd (aws)", awsLog)] {
                guard let text = readFile(path), !text.isEmpty else { continue }
                let tail = text.split(separator: "\n").suffix(30).joined(separator: "\n")
                printError("--- last lines of the \(name) log ---\n\(tail)")
            }
        }
        daemon = nil
        baseline = nil
        awsDaemon = nil
        removeTree(directory)
    }

    // MARK: - Steps

    private func checkInputs() throws {
        if options.motoEndpoint != nil && access(options.botocoreScript, R_OK) != 0 {
            throw BenchError.system(
                "cannot read the SigV4 baseline \(options.botocoreScript) (run from the repository root or pass "
                    + "--botocore-script PATH)")
        }
        guard access(options.daemon, X_OK) == 0 else {
            throw BenchError.system("--daemon \(options.daemon) is not an executable file")
        }
        guard access(options.echoServer, R_OK) == 0 else {
            throw BenchError.system(
                "cannot read the baseline \(options.echoServer) (run from the repository root or pass --echo-server PATH)")
        }
    }

    private func writeConfig() throws {
        for sub in ["state", "files", "local"] { try makeDirectory(directory + "/" + sub) }
        try writeFile(
            configPath,
            """
            [server]
            socket = "\(daemonSocket)"
            state_dir = "\(directory)/state"
            file_roots = ["\(directory)/files"]
            [cloud]
            provider = "local"
            [cloud.local]
            root = "\(directory)/local"

            """)
    }

    /// Starts rolloutd; returns it and the milliseconds from just before the spawn to the first
    /// answered `sys.ping`.
    private func startDaemon() throws -> (ChildProcess, Double) {
        let start = monotonicNanos()
        let process = try ChildProcess.spawn(
            name: "rolloutd", executable: options.daemon,
            arguments: ["--config", configPath, "--log-level", "warning"],
            logPath: daemonLog, searchPath: false)
        daemon = process
        let ready = try waitUntilReady(process, socket: daemonSocket, timeoutSeconds: 30)
        return (process, Double(ready - start) / 1e6)
    }

    /// Polls `connect()` every millisecond until a `sys.ping` round trip succeeds; returns the
    /// monotonic time it did.
    private func waitUntilReady(_ process: ChildProcess, socket: String, timeoutSeconds: Double) throws -> UInt64 {
        let deadline = monotonicNanos() + UInt64(timeoutSeconds * 1e9)
        var lastError = "nothing listening"
        while true {
            if let connection = Connection.attempt(path: socket) {
                do {
                    var request: [UInt8] = []
                    RequestTemplate.ping.append(id: 0, to: &request)
                    try connection.send(request)
                    var lines = 0
                    var errors = 0
                    while lines == 0 {
                        let read = try connection.readLines()
                        lines += read.lines
                        errors += read.errors
                    }
                    let now = monotonicNanos()
                    guard errors == 0 else { throw BenchError("\(process.name) answered sys.ping with an error") }
                    return now
                } catch let error as BenchError {
                    // Accepted but not answered: the server is shutting down or broken.
                    lastError = error.description
                }
            } else {
                lastError = "connect: \(String(cString: strerror(errno)))"
            }
            if process.hasExited() {
                throw BenchError(
                    "\(process.name) exited (\(process.status.map(String.init(describing:)) ?? "?")) before answering "
                        + "sys.ping on \(socket)")
            }
            if monotonicNanos() >= deadline {
                throw BenchError(
                    "\(process.name) did not answer sys.ping on \(socket) within \(timeoutSeconds) s (\(lastError))")
            }
            sleepNanos(1_000_000)
        }
    }

    /// SIGTERM and wait; notes a socket file left behind.
    private func stop(_ process: ChildProcess, socket: String? = nil) -> (status: ExitStatus, milliseconds: Double) {
        let socket = socket ?? daemonSocket
        let stopped = process.terminate()
        if stopped.forced {
            notes.append("\(process.name) did not exit within 15 s of SIGTERM and was killed")
        }
        if fileExists(socket) {
            notes.append("\(process.name) left its socket file behind after exiting (\(stopped.status))")
            unlink(socket)
        }
        if daemon === process { daemon = nil }
        if awsDaemon === process { awsDaemon = nil }
        return (stopped.status, stopped.milliseconds)
    }

    private func latency(on socket: String) throws -> LatencyResult {
        try measureLatency(
            socketPath: socket, warmup: options.warmupRequests, requests: options.requests)
    }

    private func throughput(on socket: String) throws -> ThroughputResult {
        try measureThroughput(
            socketPath: socket, connections: options.connections, window: options.window,
            warmupSeconds: options.warmupSeconds, seconds: options.seconds)
    }

    /// At `--log-level warning` a clean run logs nothing; anything logged is worth a look.
    private func inspectLog(_ path: String, name: String, starts: Int) {
        guard let text = readFile(path) else { return }
        let lines = text.split(separator: "\n")
        guard !lines.isEmpty else { return }
        let over = starts == 1 ? "" : " over \(starts) starts"
        var note = "\(name) logged \(lines.count) line(s) at --log-level warning\(over)"
        for line in lines.prefix(5) { note += "\n    " + line.prefix(300) }
        if lines.count > 5 { note += "\n    ..." }
        notes.append(note)
    }

    private func progress(_ message: String) {
        printError("rollout-bench: " + message)
    }
}

/// Writes a line to stderr (unbuffered, so it interleaves correctly with the children's output).
func printError(_ message: String) {
    var bytes = Array((message + "\n").utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(STDERR_FILENO, $0.baseAddress! + offset, $0.count - offset) }
        if written <= 0 {
            if written < 0 && errno == EINTR { continue }
            return
        }
        offset += written
    }
}
