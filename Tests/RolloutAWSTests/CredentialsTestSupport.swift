import AWSConfig
import AWSSigV4
import CurlHTTP
import Glibc
import RolloutCore
import Synchronization
import Testing
@testable import RolloutAWS

/// A Python fixture from tests/fixtures/ on a free loopback port: started with a clean signal
/// mask (a Swift concurrency thread blocks signals, and a spawned child inherits the mask, so
/// SIGTERM would never reach it), reads the port from its first stdout line, and is stopped
/// with SIGTERM. The fixtures also exit on their own when this process dies.
final class CredentialsFixtureProcess: Sendable {
    let port: Int
    private let process: AWSTestChildProcess

    init(script: String) async throws {
        process = try await AWSTestChildProcess(["python3", awsTestRepositoryRoot + "/tests/fixtures/" + script])
        guard let port = Int(process.firstLine), port > 0 else {
            process.stop()
            throw CredentialsFixtureError("\(script) did not report a port")
        }
        self.port = port
    }

    /// SIGTERM, then reap. Idempotent.
    func stop() {
        process.stop()
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }
}

struct CredentialsFixtureError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// moto_server for a whole suite: started before its first test, stopped after its last.
struct MotoServerTrait: SuiteTrait, TestScoping {
    var isRecursive: Bool { false }

    func provideScope(
        for test: Test, testCase: Test.Case?, performing function: @Sendable () async throws -> Void
    ) async throws {
        let server = try await CredentialsFixtureProcess(script: "credentials_moto.py")
        defer { server.stop() }
        try await MotoServer.$current.withValue(server) {
            try await function()
        }
    }
}

enum MotoServer {
    @TaskLocal static var current: CredentialsFixtureProcess?

    static var url: String {
        get throws {
            guard let current else { throw CredentialsFixtureError("moto is not running") }
            return current.baseURL
        }
    }
}

extension Trait where Self == MotoServerTrait {
    /// Runs the suite against one moto_server.
    static var motoServer: MotoServerTrait { MotoServerTrait() }
}

/// The strict fake (tests/fixtures/credentials_fake_server.py) with its control endpoints.
final class CredentialsFakeServer: Sendable {
    let process: CredentialsFixtureProcess
    let client = CurlHTTPClient()

    init() async throws {
        process = try await CredentialsFixtureProcess(script: "credentials_fake_server.py")
    }

    var baseURL: String { process.baseURL }

    func control(_ settings: String) async throws {
        let response = try await client.execute(
            HTTPRequest(method: "POST", url: baseURL + "/_control", body: .bytes(Array(settings.utf8))),
            sink: .memory(limit: 1 << 16), timeouts: .init(), progress: nil)
        #expect(response.status == 200)
    }

    func stats() async throws -> JSONValue {
        let response = try await client.execute(
            HTTPRequest(method: "GET", url: baseURL + "/_stats"), sink: .memory(limit: 1 << 16), timeouts: .init(),
            progress: nil)
        return try JSONParser.parse(response.body)
    }

    func count(_ name: String) async throws -> Int64? {
        try await stats()[name]?.int64Value
    }
}

/// An HTTP client that records every request it passes on to libcurl.
final class CredentialsRecordingHTTPClient: HTTPClient {
    private let inner = CurlHTTPClient()
    private let log = Mutex<[HTTPRequest]>([])

    var requests: [HTTPRequest] { log.withLock { $0 } }

    func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse {
        log.withLock { $0.append(request) }
        return try await inner.execute(request, sink: sink, timeouts: timeouts, progress: progress)
    }
}

/// An HTTP client that answers every request with one canned 200 response, and records them.
final class CredentialsCannedHTTPClient: HTTPClient {
    private let body: [UInt8]
    private let log = Mutex<[HTTPRequest]>([])

    init(body: String) {
        self.body = Array(body.utf8)
    }

    var requests: [HTTPRequest] { log.withLock { $0 } }

    func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse {
        log.withLock { $0.append(request) }
        return HTTPResponse(status: 200, headers: [], body: body)
    }
}

extension HTTPRequest {
    func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    var bodyText: String {
        if case .bytes(let bytes) = body { return String(decoding: bytes, as: UTF8.self) }
        return ""
    }
}

/// A settable clock for the chain and the IMDS session.
final class CredentialsTestClock: Sendable {
    private let value: Mutex<Double>

    init(_ start: Double) {
        value = Mutex(start)
    }

    var now: Double { value.withLock { $0 } }

    func set(_ time: Double) {
        value.withLock { $0 = time }
    }

    var function: @Sendable () -> Double {
        { [self] in now }
    }
}

/// A fresh directory under /tmp and small file helpers.
struct CredentialsTempDirectory {
    let path: String

    init() {
        var template = Array("/tmp/rollout-creds-XXXXXX".utf8CString)
        path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    }

    @discardableResult
    func write(_ name: String, _ text: String) -> String {
        let file = path + "/" + name
        let temporary = file + ".tmp"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        _ = Array(text.utf8).withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
        close(fd)
        rename(temporary, file)
        return file
    }
}

/// The shared files named by `environment`, read as the daemon reads them.
func credentialsSharedFiles(_ environment: [String: String]) throws -> (config: SharedConfigFile, credentials: SharedConfigFile) {
    (try SharedConfigFile.read(.config, environment: environment), try SharedConfigFile.read(.credentials, environment: environment))
}

/// Environment that keeps the chain away from this machine's files and IMDS.
func credentialsIsolatedEnvironment(_ extra: [String: String] = [:], directory: CredentialsTempDirectory) -> [String: String] {
    var environment = [
        "HOME": directory.path,
        "AWS_CONFIG_FILE": directory.path + "/absent-config",
        "AWS_SHARED_CREDENTIALS_FILE": directory.path + "/absent-credentials",
        "AWS_EC2_METADATA_DISABLED": "true",
    ]
    environment.merge(extra) { _, new in new }
    return environment
}

/// Builds the standard chain over `environment`.
func credentialsChain(
    _ environment: [String: String],
    profile: String? = nil,
    httpClient: any HTTPClient = CurlHTTPClient(),
    sts: String = "http://127.0.0.1:1",
    clock: CredentialsTestClock? = nil
) throws -> CredentialChain {
    let files = try credentialsSharedFiles(environment)
    return CredentialChain(
        environment: environment,
        profileName: SharedConfigFile.activeProfileName(configuredProfile: profile, environment: environment),
        configFile: files.config, credentialsFile: files.credentials, httpClient: httpClient,
        sts: STSEndpoint(url: sts, region: "us-east-1"),
        now: clock?.function ?? CredentialsClock.now)
}

/// Fails the test if any of `secrets` appears in the error's message or data.
func expectNoSecrets(_ error: RolloutError, _ secrets: [String], sourceLocation: SourceLocation = #_sourceLocation) {
    let text = error.description + " " + String(describing: error.wireData)
    for secret in secrets where !secret.isEmpty {
        #expect(!text.contains(secret), "secret text leaked into: \(error.message)", sourceLocation: sourceLocation)
    }
}

/// Runs `body`, expecting a `RolloutError`.
func expectRolloutError(
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> Void
) async -> RolloutError? {
    do {
        try await body()
        Issue.record("expected a RolloutError", sourceLocation: sourceLocation)
        return nil
    } catch let error as RolloutError {
        return error
    } catch {
        Issue.record("expected a RolloutError, got \(error)", sourceLocation: sourceLocation)
        return nil
    }
}
