import CurlHTTP
import Glibc
import RolloutAWS
import RolloutCore

/// Runs `python3 tests/sqs/seed_queue.py URL [extra...]` (boto3, an independent client) with
/// `input` on stdin and returns what it printed, parsed as JSON.
func sqsTestBoto(endpoint: String, extra: [String] = [], input: JSONValue? = nil) throws -> JSONValue {
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
    posix_spawn_file_actions_addopen(&actions, 2, "/tmp/rolloutd-awstest-sqs-seed.log", O_WRONLY | O_CREAT | O_APPEND, 0o644)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var noSignals = sigset_t()
    sigemptyset(&noSignals)
    posix_spawnattr_setsigmask(&attributes, &noSignals)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK))
    let arguments = ["python3", awsTestRepositoryRoot + "/tests/sqs/seed_queue.py", endpoint] + extra
    var argv = arguments.map { strdup($0) } + [nil]
    defer { argv.forEach { free($0) } }
    var pid: pid_t = 0
    let status = posix_spawnp(&pid, "python3", &actions, &attributes, &argv, environ)
    close(stdinPipe[0])
    close(stdoutPipe[1])
    guard status == 0 else {
        close(stdinPipe[1])
        close(stdoutPipe[0])
        throw AWSTestProcessError(description: "cannot start seed_queue.py")
    }
    if let input {
        let bytes = input.serialized()
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { write(stdinPipe[1], $0.baseAddress, $0.count) }
            if written <= 0 { break }
            offset += written
        }
    }
    close(stdinPipe[1])
    var output: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 65536)
    while true {
        let count = read(stdoutPipe[0], &buffer, buffer.count)
        if count <= 0 { break }
        output.append(contentsOf: buffer[0..<count])
    }
    close(stdoutPipe[0])
    var exitStatus: Int32 = 0
    waitpid(pid, &exitStatus, 0)
    guard exitStatus == 0, let value = try? JSONParser.parse(output) else {
        throw AWSTestProcessError(description: "seed_queue.py failed (status \(exitStatus)); see /tmp/rolloutd-awstest-sqs-seed.log")
    }
    return value
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

    init(_ name: String, visibility: Int = 30) throws {
        moto = try AWSTestMoto.get()
        proxy = try AWSTestFaultProxy(target: moto.url)
        let urls = try sqsTestBoto(endpoint: moto.url, extra: [sqsTestPrefix(name)])
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
    func boto(_ operations: [JSONValue]) throws -> [JSONValue] {
        try sqsTestBoto(endpoint: moto.url, input: .array(operations)).arrayValue ?? []
    }

    /// Every message boto3 can receive from `url` now (each becomes invisible for 30 s).
    func drain(_ url: String) throws -> [JSONValue] {
        try boto([["op": "drain", "url": .string(url)]]).first?.arrayValue ?? []
    }

    /// Requests the proxy saw for `AmazonSQS.<operation>`.
    func count(_ operation: String) async throws -> Int64 {
        try await proxy.stats()["byTarget"]?["AmazonSQS.\(operation)"]?.int64Value ?? 0
    }
}
