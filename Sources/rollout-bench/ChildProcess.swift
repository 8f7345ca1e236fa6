import Glibc

/// How a child process ended, decoded from a `waitpid` status.
enum ExitStatus: Equatable, CustomStringConvertible {
    case exited(Int32)
    case signaled(Int32)

    init(waitStatus status: Int32) {
        // WIFEXITED / WEXITSTATUS / WTERMSIG are C macros, so they are spelled out here.
        let signal = status & 0x7f
        self = signal == 0 ? .exited((status >> 8) & 0xff) : .signaled(signal)
    }

    var description: String {
        switch self {
        case .exited(let code): "exit \(code)"
        case .signaled(let signal): "killed by signal \(signal)"
        }
    }
}

/// Resident memory of a process, from `/proc/<pid>/status`.
struct MemoryUsage {
    /// `VmRSS`: resident set size now.
    var rssKiB: Int
    /// `VmHWM`: the peak resident set size.
    var peakKiB: Int
}

/// A process started with `posix_spawn`, stdin from /dev/null, stdout and stderr appended to a log file.
final class ChildProcess {
    let pid: pid_t
    let name: String
    let logPath: String
    private(set) var status: ExitStatus?

    private init(pid: pid_t, name: String, logPath: String) {
        self.pid = pid
        self.name = name
        self.logPath = logPath
    }

    /// Starts `executable` (looked up on `PATH` when `searchPath`) with `arguments`, and with
    /// `environment` (`NAME=value` strings) as its whole environment, or this process's when nil.
    static func spawn(
        name: String, executable: String, arguments: [String], logPath: String, searchPath: Bool,
        environment: [String]? = nil
    ) throws -> ChildProcess {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logPath, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        // The child starts with an empty signal mask and default SIGTERM/SIGINT/SIGPIPE handling,
        // whatever the shell that started the benchmark did.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGTERM, SIGINT, SIGPIPE] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup($0) } + [nil] }
        defer { for variable in envp ?? [] { free(variable) } }
        var pid = pid_t()
        let code = withEnvironment(envp) { envp in
            searchPath
                ? posix_spawnp(&pid, executable, &actions, &attributes, argv, envp)
                : posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        }
        guard code == 0 else { throw BenchError.system("cannot start \(name) (\(executable))", code) }
        return ChildProcess(pid: pid, name: name, logPath: logPath)
    }

    /// Calls `body` with `envp`'s elements as a C array, or with `environ` when `envp` is nil.
    private static func withEnvironment(
        _ envp: [UnsafeMutablePointer<CChar>?]?, _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> Int32
    ) -> Int32 {
        guard let envp else { return body(environ) }
        return envp.withUnsafeBufferPointer { body($0.baseAddress!) }
    }

    /// This process's environment as `NAME=value` strings.
    static func currentEnvironment() -> [String] {
        var variables: [String] = []
        var entry = environ
        while let variable = entry.pointee {
            variables.append(String(cString: variable))
            entry += 1
        }
        return variables
    }

    /// Whether the process has ended (reaping it if so).
    func hasExited() -> Bool {
        if status != nil { return true }
        var raw: Int32 = 0
        let result = waitpid(pid, &raw, WNOHANG)
        if result == pid {
            status = ExitStatus(waitStatus: raw)
            return true
        }
        return result < 0 && errno == ECHILD
    }

    /// SIGTERM, then wait up to `timeoutSeconds` for the process to exit (SIGKILL after that).
    /// Returns how it ended and how long the shutdown took.
    @discardableResult
    func terminate(timeoutSeconds: Double = 15) -> (status: ExitStatus, milliseconds: Double, forced: Bool) {
        let start = monotonicNanos()
        if let status { return (status, 0, false) }
        kill(pid, SIGTERM)
        let deadline = start + UInt64(timeoutSeconds * 1e9)
        var forced = false
        while !hasExited() {
            if !forced && monotonicNanos() >= deadline {
                kill(pid, SIGKILL)
                forced = true
            }
            sleepNanos(1_000_000)
        }
        let elapsed = Double(monotonicNanos() - start) / 1e6
        return (status ?? .signaled(SIGKILL), elapsed, forced)
    }

    /// `VmRSS` and `VmHWM` from `/proc/<pid>/status`.
    func memory() -> MemoryUsage? {
        guard let text = readFile("/proc/\(pid)/status") else { return nil }
        var usage = MemoryUsage(rssKiB: -1, peakKiB: -1)
        for line in text.split(separator: "\n") {
            if line.hasPrefix("VmRSS:") { usage.rssKiB = Self.kilobytes(line) }
            if line.hasPrefix("VmHWM:") { usage.peakKiB = Self.kilobytes(line) }
        }
        return usage.rssKiB >= 0 && usage.peakKiB >= 0 ? usage : nil
    }

    /// The number in a line such as `VmRSS:\t   12345 kB`.
    private static func kilobytes(_ line: Substring) -> Int {
        let digits = line.drop { !$0.isNumber }.prefix { $0.isNumber }
        return Int(digits) ?? -1
    }

    /// The last `count` lines of the log, for error messages.
    func logTail(_ count: Int = 20) -> String {
        guard let text = readFile(logPath), !text.isEmpty else { return "(log is empty)" }
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(count).joined(separator: "\n")
    }
}
