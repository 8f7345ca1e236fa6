import AWSConfig
import CurlHTTP
import Glibc
import RolloutAWS
import RolloutCore

/// Runs `python3 tests/sqs/seed_queue.py URL [extra...]` (boto3, an independent client) with
/// `input` on stdin and returns what it printed, parsed as JSON.
func sqsTestBoto(endpoint: String, extra: [String] = [], input: JSONValue? = nil) async throws -> JSONValue {
    try await awsTestRunPython(
        "tests/sqs/seed_queue.py", arguments: [endpoint] + extra, input: input, log: "/tmp/rolloutd-awstest-sqs-seed.log"
    )
}

/// A unique queue-name prefix for one test.
func sqsTestPrefix(_ name: String) -> String {
    "\(name)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// A fault proxy (no faults) in front of the shared moto, a standard and a FIFO queue created
/// with boto3, and SQSQueues on both through the proxy.
struct SQSFixture {
    let moto: AWSTestMoto
    let proxy: AWSTestFaultProxy
    let standardURL: String
    let fifoURL: String
    let queue: SQSQueue
    let fifo: SQSQueue

    init(_ name: String, visibility: Int = 30) async throws {
        moto = try await AWSTestMoto.get()
        proxy = try await AWSTestFaultProxy(target: moto.url)
        let urls = try await sqsTestBoto(endpoint: moto.url, extra: [sqsTestPrefix(name)])
        guard let standard = urls["standard"]?.stringValue, let fifo = urls["fifo"]?.stringValue else {
            throw AWSTestProcessError(description: "seed_queue.py printed no URLs")
        }
        standardURL = standard
        fifoURL = fifo
        let client = try AWSClient(
            service: .sqs, endpointURL: proxy.url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient(),
            retryPolicy: .standard(maxAttempts: 3), environment: AWSTestSleepRecorder(cap: .milliseconds(2)).environment()
        )
        queue = SQSQueue(client: client, queueURL: standard, defaultVisibilitySeconds: visibility)
        self.fifo = SQSQueue(client: client, queueURL: fifo, defaultVisibilitySeconds: visibility)
    }

    /// Runs boto3 operations against moto directly (never through the proxy).
    func boto(_ operations: [JSONValue]) async throws -> [JSONValue] {
        try await sqsTestBoto(endpoint: moto.url, input: .array(operations)).arrayValue ?? []
    }

    /// Every message boto3 can receive from `url` now (each becomes invisible for 30 s).
    func drain(_ url: String) async throws -> [JSONValue] {
        try await boto([["op": "drain", "url": .string(url)]]).first?.arrayValue ?? []
    }

    /// Requests the proxy saw for `AmazonSQS.<operation>`.
    func count(_ operation: String) async throws -> Int64 {
        try await proxy.stats()["byTarget"]?["AmazonSQS.\(operation)"]?.int64Value ?? 0
    }
}
