import AWSConfig
import CurlHTTP
import Foundation
import RolloutAWS
import RolloutCore
import RolloutFleet
import RolloutSystem

/// The repository root, from this file's path.
let fleetTestRepositoryRoot = "/" + String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")

struct FleetTestError: Error, CustomStringConvertible {
    var description: String
}

/// `python3 tests/aws/moto_runner.py --exit-on-stdin-eof`, one for the whole test process
/// (tests use distinct table names). Its stdin is a pipe held here, so it goes away with the
/// test process, even after SIGKILL.
final class FleetTestMoto: Sendable {
    let port: Int
    private let process: Process
    private let stdin: Pipe

    private init() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", fleetTestRepositoryRoot + "/tests/aws/moto_runner.py", "--exit-on-stdin-eof"]
        let stdin = Pipe()
        let stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        var line: [UInt8] = []
        while let byte = try stdout.fileHandleForReading.read(upToCount: 1)?.first, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)), port > 0 else {
            throw FleetTestError(description: "moto did not start (is moto[server] installed? `make deps`)")
        }
        self.port = port
        self.process = process
        self.stdin = stdin
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Started once, off the cooperative pool: moto takes seconds to start on a loaded machine,
    /// and a pool thread blocked that long stalls the timers of every test running beside it.
    private static let shared = Task { () -> Result<FleetTestMoto, FleetTestError> in
        do {
            return .success(try await fleetTestOffPool { try FleetTestMoto() })
        } catch {
            return .failure(FleetTestError(description: "\(error)"))
        }
    }

    static func get() async throws -> FleetTestMoto {
        try await shared.value.get()
    }

    /// A DynamoDB client against this moto.
    func dynamoDB(maxAttempts: Int = 3) throws -> DynamoDBClient {
        let client = try AWSClient(
            service: .dynamoDB, endpointURL: url, region: "us-east-1",
            credentials: StaticCredentials(accessKeyId: "AKIDFLEETTEST", secretAccessKey: "fleet-secret"),
            http: CurlHTTPClient(), retryPolicy: .standard(maxAttempts: maxAttempts)
        )
        return DynamoDBClient(client: client)
    }

    /// A fresh, initialised fleet table.
    func freshTable(_ prefix: String) async throws -> String {
        let table = "\(prefix)-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await FleetTable.ensure(dynamoDB(), table: table, pollInterval: .milliseconds(100))
        return table
    }

    /// A store for `node` on `table`.
    func store(_ table: String, node: String, lease: Duration = .seconds(5)) throws -> FleetStore {
        try FleetStore(
            dynamoDB: dynamoDB(), table: table, nodeID: node, leaseDuration: lease,
            wallClockMs: { Int64(Date().timeIntervalSince1970 * 1000) }
        )
    }
}

/// Runs `python3 tests/fleet/inspect_table.py <arguments>` (boto3, the independent client)
/// against moto and returns its stdout parsed as JSON.
func fleetTestBoto3(_ arguments: [String], moto: FleetTestMoto) async throws -> JSONValue {
    let url = moto.url
    let data = try await fleetTestOffPool { () throws -> Data in try fleetTestRunBoto3(arguments, url: url) }
    return try JSONParser.parse(Array(data))
}

private func fleetTestRunBoto3(_ arguments: [String], url: String) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3", fleetTestRepositoryRoot + "/tests/fleet/inspect_table.py", "--endpoint", url] + arguments
    let stdout = Pipe()
    process.standardOutput = stdout
    try process.run()
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw FleetTestError(description: "inspect_table.py \(arguments) exited \(process.terminationStatus)")
    }
    return data
}

/// Runs blocking test plumbing (starting Python, reading its pipes, waiting for it) on a dispatch
/// thread. Swift's cooperative pool has one thread per core (two on a small CI machine): a test
/// that blocks one there stalls the timers and long polls of every test running beside it.
func fleetTestOffPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingIO(label: "fleettest-plumbing").run { (_: CancellationFlag) throws -> T in try body() }
}
