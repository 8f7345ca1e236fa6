import AWSSigV4
import CurlHTTP
import Glibc
import RolloutAWS
import RolloutCore
import RolloutSystem
import Synchronization
import Testing

// Helpers for the AWS client, retry and Secrets Manager tests: child processes (moto, the
// fault proxy, boto3 seeding), fake HTTP clients and a recording sleeper.

/// The repository root, from this file's path.
let awsTestRepositoryRoot = "/" + String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")

struct AWSTestProcessError: Error, CustomStringConvertible {
    var description: String
}

/// Starts `arguments` with `posix_spawnp`: stdin and stdout are pipes whose other ends are
/// returned, stderr is appended to `stderrPath`, the signal mask is cleared (threads of the Swift
/// concurrency pool block signals, and a child inherits the mask) and SIGTERM, SIGINT and SIGPIPE
/// are reset to their defaults.
func awsTestSpawn(_ arguments: [String], stderrPath: String) throws -> (pid: pid_t, stdin: Int32, stdout: Int32) {
    var stdinPipe: [Int32] = [0, 0]
    var stdoutPipe: [Int32] = [0, 0]
    guard awsTestPipe(&stdinPipe), awsTestPipe(&stdoutPipe) else {
        throw AWSTestProcessError(description: "pipe2 failed")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
    posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
    posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    var defaultSignals = sigset_t()
    sigemptyset(&defaultSignals)
    sigaddset(&defaultSignals, SIGTERM)
    sigaddset(&defaultSignals, SIGINT)
    sigaddset(&defaultSignals, SIGPIPE)
    posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawnp(&pid, arguments[0], &actions, &attributes, &argv, environ)
    close(stdinPipe[0])
    close(stdoutPipe[1])
    guard status == 0 else {
        close(stdinPipe[1])
        close(stdoutPipe[0])
        throw AWSTestProcessError(description: "cannot start \(arguments[0]): error \(status)")
    }
    return (pid, stdinPipe[1], stdoutPipe[0])
}

/// Runs blocking test plumbing (spawning Python, reading from its pipes, waiting for it) on a
/// dispatch thread. Swift's cooperative pool has one thread per core (two on a small CI machine):
/// a test that blocks one there stalls the timers and long polls of every test running beside it.
func awsTestOffPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingIO(label: "awstest-plumbing").run { (_: CancellationFlag) throws -> T in try body() }
}

/// A child process started with `posix_spawnp` and a clean signal mask (threads of the Swift
/// concurrency pool block signals, and a child inherits the mask, so SIGTERM would never reach
/// it otherwise). Its stdin is a pipe this process holds: children started with
/// `--exit-on-stdin-eof` go away when the test process dies, even from SIGKILL.
final class AWSTestChildProcess: Sendable {
    let pid: pid_t
    /// The first line the child printed on stdout.
    let firstLine: String
    private let stdinFD: Int32
    private let exited = Mutex(false)

    init(_ arguments: [String], stderrPath: String = "/dev/null") async throws {
        let (child, line) = try await awsTestOffPool {
            let child = try awsTestSpawn(arguments, stderrPath: stderrPath)
            var line: [UInt8] = []
            var byte: UInt8 = 0
            while read(child.stdout, &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
            close(child.stdout)
            return (child, line)
        }
        self.pid = child.pid
        self.stdinFD = child.stdin
        self.firstLine = String(decoding: line, as: UTF8.self)
    }

    /// SIGTERM, then waits for the child.
    func stop() {
        let first = exited.withLock { exited in
            defer { exited = true }
            return !exited
        }
        guard first else { return }
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
        close(stdinFD)
    }

    deinit {
        stop()
    }
}

/// `python3 tests/aws/moto_runner.py`: a moto server on a free loopback port.
final class AWSTestMoto: Sendable {
    let process: AWSTestChildProcess
    let port: Int

    init() async throws {
        process = try await AWSTestChildProcess(
            ["python3", awsTestRepositoryRoot + "/tests/aws/moto_runner.py", "--exit-on-stdin-eof"],
            stderrPath: "/tmp/rolloutd-awstest-moto.log"
        )
        guard let port = Int(process.firstLine), port > 0 else {
            throw AWSTestProcessError(
                description: "moto did not start (is moto[server] installed? `make deps`); see /tmp/rolloutd-awstest-moto.log"
            )
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// One moto server for the whole test process (tests use distinct resource names), started
    /// once by the first test that asks, off the cooperative pool.
    private static let shared = Task { try await AWSTestMoto() }

    static func get() async throws -> AWSTestMoto {
        try await shared.value
    }
}

/// `python3 tests/fixtures/fault_proxy.py` in front of `target`.
final class AWSTestFaultProxy: Sendable {
    let process: AWSTestChildProcess
    let port: Int
    private let http = CurlHTTPClient()

    init(target: String, arguments: [String] = []) async throws {
        process = try await AWSTestChildProcess(
            ["python3", awsTestRepositoryRoot + "/tests/fixtures/fault_proxy.py", "--target", target, "--exit-on-stdin-eof"]
                + arguments,
            stderrPath: "/tmp/rolloutd-awstest-proxy.log"
        )
        guard let port = Int(process.firstLine), port > 0 else {
            throw AWSTestProcessError(description: "the fault proxy did not start; see /tmp/rolloutd-awstest-proxy.log")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// `GET /__stats`.
    func stats() async throws -> JSONValue {
        let response = try await http.execute(
            HTTPRequest(method: "GET", url: url + "/__stats"), sink: .memory(limit: 1 << 20), timeouts: HTTPTimeouts(), progress: nil
        )
        return try JSONParser.parse(response.body)
    }

    /// Requests the proxy received (forwarded or faulted).
    func total() async throws -> Int64 {
        try await stats()["total"]?.int64Value ?? -1
    }

    /// `POST /__config`.
    func configure(_ update: JSONValue) async throws {
        let response = try await http.execute(
            HTTPRequest(method: "POST", url: url + "/__config", body: .bytes(update.serialized())),
            sink: .memory(limit: 1 << 20), timeouts: HTTPTimeouts(), progress: nil
        )
        guard response.status == 200 else {
            throw AWSTestProcessError(description: "proxy config refused: \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    func stop() {
        process.stop()
    }
}

/// Runs `python3 <repo>/<script> <arguments>` (boto3: the independent client) with `input` as
/// JSON on stdin, stderr appended to `log`, and returns its stdout parsed as JSON.
func awsTestRunPython(_ script: String, arguments: [String], input: JSONValue?, log: String) async throws -> JSONValue {
    try await awsTestOffPool { try awsTestRunPythonBlocking(script, arguments: arguments, input: input, log: log) }
}

private func awsTestRunPythonBlocking(_ script: String, arguments: [String], input: JSONValue?, log: String) throws -> JSONValue {
    let child = try awsTestSpawn(["python3", awsTestRepositoryRoot + "/" + script] + arguments, stderrPath: log)
    if let input {
        let bytes = input.serialized()
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(child.stdin, $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
    }
    close(child.stdin)
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(child.stdout, &buffer, buffer.count)
        if count <= 0 { break }
        output.append(contentsOf: buffer[0..<count])
    }
    close(child.stdout)
    var exitStatus: Int32 = 0
    waitpid(child.pid, &exitStatus, 0)
    guard exitStatus == 0, let value = try? JSONParser.parse(output) else {
        throw AWSTestProcessError(description: "\(script) failed (status \(exitStatus)); see \(log)")
    }
    return value
}

/// Seeds secrets with `tests/aws/seed_secrets.py` and returns the version ids it printed.
func awsTestSeedSecrets(endpoint: String, _ operations: [JSONValue]) async throws -> [String?] {
    let result = try await awsTestRunPython(
        "tests/aws/seed_secrets.py", arguments: [endpoint], input: .array(operations), log: "/tmp/rolloutd-awstest-secrets.log"
    )
    guard let ids = result.arrayValue else {
        throw AWSTestProcessError(description: "seed_secrets.py printed no array")
    }
    return ids.map(\.stringValue)
}

/// `pipe` with both ends close-on-exec (children get them only through dup2).
func awsTestPipe(_ fds: inout [Int32]) -> Bool {
    guard pipe(&fds) == 0 else { return false }
    _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
    _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
    return true
}

/// Test credentials (moto accepts any).
let awsTestCredentials = StaticCredentials(accessKeyId: "AKIDTESTCLIENT", secretAccessKey: "test-secret-key")

/// Records the backoffs the client asks for, and waits at most `cap` of each.
final class AWSTestSleepRecorder: Sendable {
    private let recorded = Mutex<[Duration]>([])
    private let cap: Duration

    init(cap: Duration = .zero) {
        self.cap = cap
    }

    var sleeps: [Duration] {
        recorded.withLock { $0 }
    }

    func environment(jitter: Double = 0.5, wallClock: Double = 1_700_000_000) -> AWSClientEnvironment {
        AWSClientEnvironment(
            wallClock: { wallClock },
            sleep: { duration in
                self.recorded.withLock { $0.append(duration) }
                try await Task.sleep(for: min(duration, self.cap))
            },
            jitter: { jitter }
        )
    }
}

/// An ``HTTPClient`` that answers from a script and records what it was sent.
final class AWSTestScriptedHTTP: HTTPClient {
    private let script: Mutex<[Result<HTTPResponse, HTTPError>]>
    private let sent = Mutex<[HTTPRequest]>([])
    /// Answer for requests beyond the script.
    private let fallback: Result<HTTPResponse, HTTPError>

    init(_ script: [Result<HTTPResponse, HTTPError>], fallback: Result<HTTPResponse, HTTPError>? = nil) {
        self.script = Mutex(script)
        self.fallback = fallback ?? .success(HTTPResponse(status: 200, headers: [], body: Array("{}".utf8)))
    }

    var requests: [HTTPRequest] {
        sent.withLock { $0 }
    }

    func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse {
        sent.withLock { $0.append(request) }
        let next = script.withLock { $0.isEmpty ? nil : $0.removeFirst() }
        return try (next ?? fallback).get()
    }
}

/// A response with a JSON error body.
func awsTestJSONError(_ status: Int, _ type: String, _ message: String = "m", headers: [(String, String)] = []) -> Result<HTTPResponse, HTTPError> {
    let body: JSONValue = ["__type": .string(type), "message": .string(message)]
    return .success(
        HTTPResponse(
            status: status,
            headers: [(name: "x-amzn-requestid", value: "req-\(status)")] + headers.map { (name: $0.0, value: $0.1) },
            body: body.serialized()
        )
    )
}

/// A response with an S3-style XML error body.
func awsTestXMLError(_ status: Int, _ code: String) -> Result<HTTPResponse, HTTPError> {
    .success(
        HTTPResponse(
            status: status, headers: [(name: "x-amz-request-id", value: "s3req")],
            body: Array("<Error><Code>\(code)</Code><Message>msg</Message><RequestId>s3req</RequestId></Error>".utf8)
        )
    )
}

/// A monotonic clock the test moves by hand.
final class AWSTestManualClock: Sendable {
    private let offset = Mutex<Duration>(.zero)
    private let origin = ContinuousClock.now

    func now() -> ContinuousClock.Instant {
        origin + offset.withLock { $0 }
    }

    func advance(_ duration: Duration) {
        offset.withLock { $0 += duration }
    }
}

extension RolloutError {
    /// `data.upstream.<key>`.
    func upstream(_ key: String) -> JSONValue? {
        data["upstream"]?[key]
    }
}
