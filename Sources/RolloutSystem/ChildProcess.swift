import Glibc

/// Runs a program and collects its standard output: no shell, standard input from
/// `/dev/null`, standard error read and thrown away, no other descriptor of the daemon
/// inherited (`closefrom(3)` in the child), an empty signal mask and default dispositions, and
/// a process group of its own so a timeout kills whatever it started too. Blocking: call
/// ``run(_:environment:timeout:outputLimit:cancellation:)`` through ``BlockingIO``.
public enum ChildProcess {
    /// How a run ended.
    public enum Outcome: Equatable, Sendable {
        /// The program exited with `status`; `output` is its standard output.
        case exited(status: Int32, output: [UInt8])
        /// The program was killed by `signal` (not by us).
        case signaled(Int32)
        /// More than the output limit arrived; the program was killed.
        case outputTooLarge
        /// The time limit passed; the program (and its process group) was killed.
        case timedOut
        /// The waiting task was cancelled; the program was killed.
        case cancelled
        /// The program ended but its exit status could not be read (someone else reaped it).
        case vanished
    }

    /// Runs `arguments` (`arguments[0]` looked up on the daemon's `PATH` when it has no `/`)
    /// with `environment` as its whole environment.
    ///
    /// - Throws: when the program cannot be started (`posix_spawnp`'s error, or a pipe's),
    ///   naming `arguments[0]`.
    public static func run(
        _ arguments: [String],
        environment: [String: String],
        timeout: Duration,
        outputLimit: Int,
        cancellation: CancellationFlag
    ) throws(SystemError) -> Outcome {
        let start = ContinuousClock.now
        let program = arguments.first ?? ""
        var output = Pipe()
        var errors = Pipe()
        guard output.open(), errors.open() else {
            let error = SystemError("create a pipe for", program)
            output.closeBoth()
            errors.closeBoth()
            throw error
        }
        let pid: pid_t
        do {
            pid = try spawn(arguments, environment: environment, stdout: output.write, stderr: errors.write)
        } catch {
            output.closeBoth()
            errors.closeBoth()
            throw error
        }
        output.closeWrite()
        errors.closeWrite()
        defer {
            output.closeBoth()
            errors.closeBoth()
        }

        var collected: [UInt8] = []
        var stopReason: Outcome?
        var open = [output.read, errors.read]
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while !open.isEmpty, stopReason == nil {
            if cancellation.isCancelled {
                stopReason = .cancelled
                break
            }
            let left = timeout - (ContinuousClock.now - start)
            guard left > .zero else {
                stopReason = .timedOut
                break
            }
            var fds = open.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            let sliceMilliseconds = max(1, Int32((min(left, .milliseconds(100)) / .milliseconds(1)).rounded(.up)))
            guard retryingInterrupts({ poll(&fds, nfds_t(fds.count), sliceMilliseconds) }) >= 0 else {
                stopReason = .timedOut
                break
            }
            for entry in fds where entry.revents != 0 {
                let count = buffer.withUnsafeMutableBytes { bytes in
                    retryingInterrupts { Glibc.read(entry.fd, bytes.baseAddress, bytes.count) }
                }
                if count > 0 {
                    if entry.fd == output.read {
                        collected.append(contentsOf: buffer[0..<count])
                        if collected.count > outputLimit { stopReason = .outputTooLarge }
                    }
                } else if count == 0 || errno != EAGAIN {
                    open.removeAll { $0 == entry.fd }
                }
            }
        }
        if let stopReason {
            killAndReap(pid)
            return stopReason
        }
        // Both pipes are closed; the program itself may still be running.
        switch reap(pid, until: start + timeout, cancellation: cancellation) {
        case .running:
            killAndReap(pid)
            return cancellation.isCancelled ? .cancelled : .timedOut
        case .gone:
            return .vanished
        case .ended(let status):
            let signal = status & 0x7f
            return signal == 0 ? .exited(status: (status >> 8) & 0xff, output: collected) : .signaled(signal)
        }
    }

    // MARK: Internals

    /// glibc's GNU extensions that Swift's `Glibc` module does not import (it is built without
    /// `_GNU_SOURCE`), looked up once by name: `pipe2` (glibc 2.9) and
    /// `posix_spawn_file_actions_addclosefrom_np` (glibc 2.34).
    private enum GNU {
        typealias Pipe2 = @convention(c) (UnsafeMutablePointer<Int32>, Int32) -> Int32
        typealias AddCloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32

        static let pipe2: Pipe2? = dlsym(nil, "pipe2").map { unsafeBitCast($0, to: Pipe2.self) }
        static let addCloseFrom: AddCloseFrom? = dlsym(nil, "posix_spawn_file_actions_addclosefrom_np")
            .map { unsafeBitCast($0, to: AddCloseFrom.self) }
    }

    /// A pipe's two ends, `-1` once closed. Both ends are close-on-exec; the child gets the
    /// write end through `dup2`, which clears the flag on the copy.
    private struct Pipe {
        var read: Int32 = -1
        var write: Int32 = -1

        mutating func open() -> Bool {
            var ends: [Int32] = [-1, -1]
            guard let pipe2 = GNU.pipe2 else {
                errno = ENOSYS
                return false
            }
            guard pipe2(&ends, O_CLOEXEC) == 0 else { return false }
            read = ends[0]
            write = ends[1]
            return true
        }

        mutating func closeWrite() {
            if write >= 0 { close(write) }
            write = -1
        }

        mutating func closeBoth() {
            closeWrite()
            if read >= 0 { close(read) }
            read = -1
        }
    }

    private static func spawn(_ arguments: [String], environment: [String: String], stdout: Int32, stderr: Int32) throws(SystemError)
        -> pid_t
    {
        let program = arguments.first ?? ""
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, stdout, 1)
        posix_spawn_file_actions_adddup2(&actions, stderr, 2)
        // Nothing else of the daemon's (sockets, the database, other children's pipes) leaks
        // into the program, whether or not it was opened close-on-exec.
        guard let addCloseFrom = GNU.addCloseFrom, addCloseFrom(&actions, 3) == 0 else {
            throw SystemError("start", program, code: ENOSYS)
        }

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A Swift concurrency thread blocks signals and the mask is inherited: start clean.
        var mask = sigset_t()
        sigemptyset(&mask)
        posix_spawnattr_setsigmask(&attributes, &mask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP))

        let argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let envp: [UnsafeMutablePointer<CChar>?] = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for variable in envp { free(variable) } }
        var pid = pid_t()
        let code = posix_spawnp(&pid, program, &actions, &attributes, argv, envp)
        guard code == 0 else { throw SystemError("start", program, code: code) }
        return pid
    }

    /// What ``reap(_:until:cancellation:)`` found.
    private enum ReapResult {
        case ended(Int32)
        case running
        case gone
    }

    /// Reaps `pid`, polling until `deadline` or cancellation.
    private static func reap(_ pid: pid_t, until deadline: ContinuousClock.Instant, cancellation: CancellationFlag) -> ReapResult {
        var status: Int32 = 0
        while true {
            let result = retryingInterrupts { waitpid(pid, &status, WNOHANG) }
            if result == pid { return .ended(status) }
            if result < 0 { return .gone }
            if ContinuousClock.now >= deadline || cancellation.isCancelled { return .running }
            usleep(5_000)
        }
    }

    /// SIGKILL to the program's process group (and to the program, should it have left the
    /// group), then waits for it.
    private static func killAndReap(_ pid: pid_t) {
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        var status: Int32 = 0
        _ = retryingInterrupts { waitpid(pid, &status, 0) }
    }
}
