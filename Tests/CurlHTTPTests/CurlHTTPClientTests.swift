import CurlHTTP
import Glibc
import RolloutCore
import RolloutSystem
import Synchronization
import Testing

/// The Python test server (tests/fixtures/http_test_server.py) on a free loopback port.
final class TestServer: Sendable {
    let port: Int
    private let pid: pid_t

    /// Spawns the server and reads its port on a dispatch thread, not the cooperative pool (one
    /// thread per core: a blocked one stalls the other tests' timers).
    init() async throws {
        (pid, port) = try await BlockingIO(label: "curltest-server").run { (_: CancellationFlag) throws -> (pid_t, Int) in
            try Self.spawn()
        }
    }

    private static func spawn() throws -> (pid_t, Int) {
        let repo = "/" + String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        var fds: [Int32] = [0, 0]
        pipe(&fds)
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addclose(&actions, fds[0])
        defer { posix_spawn_file_actions_destroy(&actions) }
        let args = ["python3", repo + "/tests/fixtures/http_test_server.py"]
        var argv = args.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        // Spawned from a Swift concurrency thread, which blocks signals: give the child a clean
        // signal mask, or SIGTERM would never reach it.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
        guard posix_spawnp(&pid, "python3", &actions, &attributes, &argv, environ) == 0 else {
            throw HTTPError(.local, "cannot start the test server")
        }
        close(fds[1])
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while read(fds[0], &byte, 1) == 1, byte != UInt8(ascii: "\n") { line.append(byte) }
        close(fds[0])
        return (pid, Int(String(decoding: line, as: UTF8.self)) ?? 0)
    }

    deinit {
        kill(pid, SIGTERM)
        var status: Int32 = 0
        waitpid(pid, &status, 0)
    }

    func url(_ path: String) -> String { "http://127.0.0.1:\(port)\(path)" }
}

private func temporaryPath(_ name: String) -> String {
    var template = Array("/tmp/curlhttp-XXXXXX".utf8CString)
    let directory = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    return directory + "/" + name
}

private func writeFile(_ path: String, _ bytes: [UInt8]) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

private func readFile(_ path: String) -> [UInt8] {
    let fd = open(path, O_RDONLY)
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = read(fd, &buffer, buffer.count)
        if n <= 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}

@Suite("CurlHTTP against a local server", .serialized)
struct CurlHTTPClientTests {
    let server: TestServer
    let client = CurlHTTPClient()

    init() async throws {
        server = try await TestServer()
    }

    @Test("GET into memory, with lowercase headers and the status")
    func get() async throws {
        let response = try await client.execute(HTTPRequest(method: "GET", url: server.url("/bytes/1000")), sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil)
        #expect(response.status == 200)
        #expect(response.body.count == 1000)
        #expect(response.body[255] == 255)
        #expect(response.header("Content-Length") == "1000")
        let teapot = try await client.execute(HTTPRequest(method: "GET", url: server.url("/status/418")), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
        #expect(teapot.status == 418)
        #expect(teapot.header("x-test") == "yes")
    }

    @Test("PUT streams a file range; POST and DELETE send bodies and headers", arguments: ["PUT", "POST", "DELETE"])
    func upload(method: String) async throws {
        let path = temporaryPath("body.bin")
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        writeFile(path, bytes)
        let request = HTTPRequest(
            method: method, url: server.url("/echo"), headers: [("X-Custom", "a  b")],
            body: .file(try FileRoots([Directories.parent(of: path)]).openForReading(path), offset: 1000, length: 200_000)
        )
        let response = try await client.execute(request, sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil)
        let echo = try JSONParser.parse(response.body)
        #expect(echo["method"] == .string(method))
        #expect(echo["length"] == 200_000)
        #expect(echo["sha256"]?.stringValue == Self.sha256Hex(Array(bytes[1000..<201_000])))
        #expect(echo["headers"]?["x-custom"] == "a  b")
        #expect(echo["headers"]?["expect"] == nil)
    }

    @Test("a stream body is rewound for every exchange and sent whole; a source that fails aborts the exchange")
    func streamBody() async throws {
        let source = CountingSource(length: 300_001)
        for _ in 0..<2 {
            let request = HTTPRequest(method: "PUT", url: server.url("/echo"), body: .stream(source))
            let response = try await client.execute(request, sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil)
            let echo = try JSONParser.parse(response.body)
            #expect(echo["length"] == 300_001)
            #expect(echo["sha256"]?.stringValue == Self.sha256Hex(CountingSource.bytes(300_001)))
        }
        #expect(source.rewinds.withLock { $0 } == 2)
        let failing = HTTPRequest(method: "PUT", url: server.url("/echo"), body: .stream(CountingSource(length: 300_001, failAt: 100_000)))
        await #expect(throws: HTTPError.self) {
            _ = try await client.execute(failing, sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil)
        }
    }

    @Test("an empty POST sends Content-Length: 0")
    func emptyPost() async throws {
        let response = try await client.execute(HTTPRequest(method: "POST", url: server.url("/echo")), sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil)
        let echo = try JSONParser.parse(response.body)
        #expect(echo["headers"]?["content-length"] == "0")
    }

    @Test("responses stream into a file")
    func download() async throws {
        let path = temporaryPath("out.bin")
        let temporary = try FileRoots([Directories.parent(of: path)]).openTarget(path).createTemporary()
        let response = try await client.execute(HTTPRequest(method: "GET", url: server.url("/bytes/3000000")), sink: .file(temporary), timeouts: .init(), progress: nil)
        try temporary.commit()
        #expect(response.bytesWritten == 3_000_000)
        #expect(response.body.isEmpty)
        let written = readFile(path)
        #expect(written.count == 3_000_000)
        #expect(written[256 * 100 + 7] == 7)
    }

    @Test("a memory sink over its limit fails with tooLarge")
    func tooLarge() async throws {
        do {
            _ = try await client.execute(HTTPRequest(method: "GET", url: server.url("/bytes/5000")), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
            Issue.record("expected tooLarge")
        } catch {
            #expect(error.kind == .tooLarge)
        }
    }

    @Test("cancelling the task aborts a slow exchange promptly")
    func cancellation() async throws {
        let client = self.client
        let url = server.url("/slow/30")
        let start = ContinuousClock.now
        let task = Task {
            try await client.execute(HTTPRequest(method: "GET", url: url), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
        }
        try await Task.sleep(for: .milliseconds(300))
        task.cancel()
        do {
            _ = try await task.value
            Issue.record("expected cancellation")
        } catch let error as HTTPError {
            #expect(error.kind == .cancelled)
        }
        #expect(ContinuousClock.now - start < .seconds(25), "aborted, not served after 30 s")
    }

    @Test("timeouts and refused connections are classified")
    func failures() async throws {
        do {
            _ = try await client.execute(HTTPRequest(method: "GET", url: server.url("/slow/5")), sink: .memory(limit: 100), timeouts: .init(total: .milliseconds(300)), progress: nil)
            Issue.record("expected a timeout")
        } catch {
            #expect(error.kind == .timeout)
        }
        do {
            _ = try await client.execute(HTTPRequest(method: "GET", url: "http://127.0.0.1:1/"), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
            Issue.record("expected a connect failure")
        } catch {
            #expect(error.kind == .connect)
        }
    }

    @Test("an option libcurl refuses fails the exchange and names the option; the pooled handle still works")
    func refusedOption() async throws {
        // libcurl refuses strings over CURL_MAX_INPUT_LENGTH (8,000,000 bytes) with
        // CURLE_BAD_FUNCTION_ARGUMENT. Unchecked, the handle went on without a URL and
        // libcurl's later "URL using bad/illegal format or missing URL" hid the cause.
        let huge = server.url("/bytes/1?") + String(repeating: "a", count: 8_000_001)
        do {
            _ = try await client.execute(HTTPRequest(method: "GET", url: huge), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
            Issue.record("expected the URL to be refused")
        } catch {
            #expect(error.kind == .local)
            #expect(error.message.contains("CURLOPT_URL"), "\(error.message)")
        }
        let response = try await client.execute(HTTPRequest(method: "GET", url: server.url("/bytes/10")), sink: .memory(limit: 100), timeouts: .init(), progress: nil)
        #expect(response.status == 200 && response.body.count == 10)
    }

    @Test("concurrent requests reuse pooled handles")
    func concurrent() async throws {
        let client = self.client
        let url = server.url("/bytes/10000")
        let sizes = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<32 {
                group.addTask {
                    try await client.execute(HTTPRequest(method: "GET", url: url), sink: .memory(limit: 1 << 20), timeouts: .init(), progress: nil).body.count
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(sizes == Array(repeating: 10000, count: 32))
    }

    static func sha256Hex(_ bytes: [UInt8]) -> String {
        // Independent of our libcrypto wrapper: ask the system's sha256sum.
        let path = temporaryPath("digest.bin")
        writeFile(path, bytes)
        guard let pipe = popen("sha256sum '\(path)'", "r") else { return "" }
        defer { pclose(pipe) }
        var buffer = [CChar](repeating: 0, count: 200)
        fgets(&buffer, 200, pipe)
        return String(decoding: buffer.prefix { $0 != 0 }.prefix(64).map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A stream body of `length` bytes (byte i is `i * 31`), in reads of at most 70,001 bytes;
/// with `failAt`, the read that would pass that offset fails.
final class CountingSource: HTTPBodySource, @unchecked Sendable {  // one exchange at a time; `rewinds` is locked
    let length: Int64
    private let failAt: Int64?
    private var position: Int64 = 0
    let rewinds = Mutex(0)

    init(length: Int64, failAt: Int64? = nil) {
        self.length = length
        self.failAt = failAt
    }

    static func bytes(_ count: Int) -> [UInt8] { (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31) } }

    func rewind() throws(HTTPError) {
        position = 0
        rewinds.withLock { $0 += 1 }
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPError) -> Int {
        let count = Int(min(Int64(min(buffer.count, 70_001)), length - position))
        if let failAt, position + Int64(count) > failAt { throw HTTPError(.local, "the source failed") }
        for index in 0..<count { buffer[index] = UInt8(truncatingIfNeeded: (Int(position) + index) &* 31) }
        position += Int64(count)
        return count
    }
}
