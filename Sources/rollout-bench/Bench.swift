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

    var readyMedianMillis: Double { median(readyMillis) }
    var finalExit: ExitStatus? { daemonExits.last }
    var failed: Bool { daemon.errors > 0 || baseline.errors > 0 || daemonExits.contains { $0 != .exited(0) } }
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
    private var notes: [String] = []

    private var daemonSocket: String { directory + "/r.sock" }
    private var baselineSocket: String { directory + "/echo.sock" }
    private var configPath: String { directory + "/rolloutd.toml" }
    private var daemonLog: String { directory + "/rolloutd.log" }
    private var baselineLog: String { directory + "/echo_server.log" }

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
        inspectDaemonLog()

        let daemonFigures = ServerFigures(latency: daemonLatency, throughput: daemonThroughput, memory: daemonMemory)
        let baselineFigures = ServerFigures(
            latency: baselineLatency, throughput: baselineThroughput, memory: baselineMemory)
        return Figures(
            options: options, daemon: daemonFigures, baseline: baselineFigures, readyMillis: readyMillis,
            daemonExits: exits, shutdownMillis: shutdowns, notes: notes)
    }

    /// Stops whatever is still running and deletes the temporary directory.
    /// After a failure, the tail of each log goes to stderr first.
    func cleanup(showLogs: Bool) {
        for process in [daemon, baseline].compactMap({ $0 }) {
            process.terminate(timeoutSeconds: 5)
        }
        if showLogs {
            for (name, path) in [("rolloutd", daemonLog), ("echo_server.py", baselineLog)] {
                guard let text = readFile(path), !text.isEmpty else { continue }
                let tail = text.split(separator: "\n").suffix(30).joined(separator: "\n")
                printError("--- last lines of the \(name) log ---\n\(tail)")
            }
        }
        daemon = nil
        baseline = nil
        removeTree(directory)
    }

    // MARK: - Steps

    private func checkInputs() throws {
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
                    PingRequest.append(id: 0, to: &request)
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
    private func stop(_ process: ChildProcess) -> (status: ExitStatus, milliseconds: Double) {
        let stopped = process.terminate()
        if stopped.forced {
            notes.append("rolloutd did not exit within 15 s of SIGTERM and was killed")
        }
        if fileExists(daemonSocket) {
            notes.append("rolloutd left its socket file behind after exiting (\(stopped.status))")
            unlink(daemonSocket)
        }
        if daemon === process { daemon = nil }
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
    private func inspectDaemonLog() {
        guard let text = readFile(daemonLog) else { return }
        let lines = text.split(separator: "\n")
        guard !lines.isEmpty else { return }
        var note = "rolloutd logged \(lines.count) line(s) at --log-level warning over \(options.readyRuns) starts"
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
