import Glibc
import RolloutClient
import RolloutCore
import RolloutTestSupport
import Testing

/// A real `rolloutd` process on a private temp directory, started for one test.
struct TestDaemon {
    let root: String
    let socket: String
    let files: String
    let pid: pid_t

    /// The built daemon next to this test bundle (`.build/debug/rolloutd`).
    static var binary: String {
        let repo = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let bin = getenv("ROLLOUT_BIN_DIR").map { String(cString: $0) } ?? "/\(repo)/.build/debug"
        return bin + "/rolloutd"
    }

    /// Writes a config and starts the daemon, waiting until it answers `sys.ping`.
    static func start(extraServer: String = "") async throws -> TestDaemon {
        var template = Array("/tmp/rdt-XXXXXX".utf8CString)
        let root = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
        let socket = root + "/run/r.sock"
        let files = root + "/files"
        mkdir(files, 0o700)
        let config = """
            [server]
            socket = "\(socket)"
            state_dir = "\(root)/state"
            file_roots = ["\(files)"]
            \(extraServer)
            [cloud]
            provider = "local"
            [cloud.local]
            root = "\(root)/local"
            """
        try write(config, to: root + "/rollout.toml")
        var pid: pid_t = 0
        let args = [binary, "--config", root + "/rollout.toml", "--log-level", "warning"]
        var argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 2, root + "/rolloutd.log", O_WRONLY | O_CREAT | O_APPEND, 0o600)
        defer { posix_spawn_file_actions_destroy(&actions) }
        // Spawned from a Swift concurrency thread, which blocks signals: give the child a clean
        // signal mask, or SIGTERM would never reach it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        let status = posix_spawn(&pid, binary, &actions, &attributes, &argv, environ)
        guard status == 0 else { throw RolloutError(.internalError, "cannot start \(binary): \(status)") }
        let daemon = TestDaemon(root: root, socket: socket, files: files, pid: pid)
        for _ in 0..<500 {
            if let client = try? await RolloutClient.connect(socketPath: socket) {
                _ = try? await client.call("sys.ping")
                await client.close()
                return daemon
            }
            try await Task.sleep(for: .milliseconds(20))
        }
        throw RolloutError(.unavailable, "rolloutd did not come up")
    }

    /// SIGTERM, then the exit status.
    func stop() -> Int32 {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        return (status >> 8) & 0xFF
    }

    func remove() {
        removeTree(root)
    }

    static func write(_ text: String, to path: String) throws {
        guard let file = fopen(path, "w") else { throw RolloutError(.internalError, "cannot write \(path)") }
        fputs(text, file)
        fclose(file)
    }
}

/// Runs `body` with a client connected to a fresh daemon; the daemon must exit 0 afterwards.
func withTestDaemon(extraServer: String = "", _ body: (RolloutClient, TestDaemon) async throws -> Void) async throws {
    let daemon = try await TestDaemon.start(extraServer: extraServer)
    defer { daemon.remove() }
    let client = try await RolloutClient.connect(socketPath: daemon.socket)
    do {
        try await body(client, daemon)
    } catch {
        await client.close()
        _ = daemon.stop()
        throw error
    }
    await client.close()
    #expect(daemon.stop() == 0)
}
