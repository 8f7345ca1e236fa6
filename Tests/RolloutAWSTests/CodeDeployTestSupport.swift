import AWSConfig
import CurlHTTP
import RolloutAWS
import RolloutCore
import Synchronization

// Helpers for the CodeDeploy engine tests: the scripted fake (tests/fixtures/codedeploy_fake.py),
// boto3 seeding of moto, and a recorder for the engine's poll sleeps.

/// `python3 tests/fixtures/codedeploy_fake.py`: a scripted CodeDeploy on a free loopback port.
final class CodeDeployFake: Sendable {
    let process: AWSTestChildProcess
    let port: Int
    private let http = CurlHTTPClient()

    init() async throws {
        process = try await AWSTestChildProcess(
            ["python3", awsTestRepositoryRoot + "/tests/fixtures/codedeploy_fake.py", "--exit-on-stdin-eof"],
            stderrPath: "/tmp/rolloutd-awstest-codedeploy-fake.log"
        )
        guard let port = Int(process.firstLine), port > 0 else {
            throw AWSTestProcessError(description: "the CodeDeploy fake did not start; see /tmp/rolloutd-awstest-codedeploy-fake.log")
        }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Every API call the fake received, in order: `{op, body, status?}`.
    func calls() async throws -> [JSONValue] {
        let response = try await http.execute(
            HTTPRequest(method: "GET", url: url + "/__calls"), sink: .memory(limit: 16 << 20), timeouts: HTTPTimeouts(), progress: nil
        )
        return try JSONParser.parse(response.body)["calls"]?.arrayValue ?? []
    }

    /// The request bodies of the calls of `operation`.
    func bodies(_ operation: String) async throws -> [JSONValue] {
        try await calls().filter { $0["op"]?.stringValue == operation }.compactMap { $0["body"] }
    }

    /// `POST /__seed`.
    func seed(deployments: [JSONValue] = [], configs: JSONObject = [:]) async throws {
        try await post("/__seed", ["deployments": .array(deployments), "configs": .object(configs)])
    }

    /// `POST /__config`.
    func configure(_ update: JSONValue) async throws {
        try await post("/__config", update)
    }

    private func post(_ path: String, _ body: JSONValue) async throws {
        let response = try await http.execute(
            HTTPRequest(method: "POST", url: url + path, body: .bytes(body.serialized())),
            sink: .memory(limit: 1 << 20), timeouts: HTTPTimeouts(), progress: nil
        )
        guard response.status == 200 else {
            throw AWSTestProcessError(description: "the fake refused \(path): \(String(decoding: response.body, as: UTF8.self))")
        }
    }

    func stop() {
        process.stop()
    }
}

/// Counts the poll sleeps of a ``CodeDeployRollouts`` and returns from each at once.
final class CodeDeployPollSleeps: Sendable {
    private let durations = Mutex<[Duration]>([])

    var count: Int {
        durations.withLock { $0.count }
    }

    var sleep: @Sendable (Duration) async throws -> Void {
        { duration in self.durations.withLock { $0.append(duration) } }
    }
}

/// A CodeDeploy client for `url` whose retry backoffs are recorded by `sleeper` (and not waited),
/// in us-east-1, the region boto3 seeds moto in.
func codeDeployTestClient(url: String, sleeper: AWSTestSleepRecorder = AWSTestSleepRecorder(), maxAttempts: Int = 3) throws -> AWSClient {
    try AWSClient(
        service: .codeDeploy, endpointURL: url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient(),
        retryPolicy: .standard(maxAttempts: maxAttempts), environment: sleeper.environment()
    )
}

/// Runs boto3 operations against moto with `tests/fixtures/codedeploy_fake.py boto3`.
func codeDeployBoto3(endpoint: String, _ operations: [JSONValue]) async throws -> [JSONValue] {
    let result = try await awsTestRunPython(
        "tests/fixtures/codedeploy_fake.py", arguments: ["boto3", endpoint], input: .array(operations),
        log: "/tmp/rolloutd-awstest-codedeploy-boto3.log"
    )
    guard let results = result.arrayValue else {
        throw AWSTestProcessError(description: "codedeploy_fake.py boto3 printed no array")
    }
    return results
}

/// A seeded deployment for ``CodeDeployFake/seed(deployments:configs:)``.
func codeDeployFakeDeployment(
    _ id: String, application: String = "app", group: String = "dg", script: [String], extra: JSONObject = [:]
) -> JSONValue {
    var deployment: JSONObject = [
        "deploymentId": .string(id), "applicationName": .string(application), "deploymentGroupName": .string(group),
        "script": .array(script.map(JSONValue.string)),
    ]
    for (key, value) in extra { deployment[key] = value }
    return .object(deployment)
}
