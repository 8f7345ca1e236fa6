import Glibc
import RolloutCore
import RolloutRPC
import RolloutStore
import RolloutTestSupport
import Synchronization
import Testing

/// A scratch state directory, removed afterwards.
func withStateDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    var template = Array("/tmp/rolloutd-store-XXXXXX".utf8CString)
    let path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
    defer { removeTree(path) }
    return try await body(path + "/state")
}

final class Counter: Sendable {
    private let value = Mutex(0)
    func increment() -> Int { value.withLock { $0 += 1; return $0 } }
    var count: Int { value.withLock { $0 } }
}

@Suite("Idempotency records (SPEC §3.2)")
struct IdempotencyRecordsTests {
    @Test("same key and params replays the stored result without running again")
    func replay() async throws {
        try await withStateDirectory { directory in
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            let runs = Counter()
            let operation: @Sendable () async throws -> JSONValue = { .object(["n": .number(JSONNumber(runs.increment()))]) }
            let first = try await records.run(method: "queue.send", key: "k", params: ["body": "x"], deadline: nil, operation: operation)
            let second = try await records.run(method: "queue.send", key: "k", params: ["body": "x"], deadline: nil, operation: operation)
            #expect(first.replayed == false)
            #expect(second.replayed == true)
            #expect(first.result == second.result)
            #expect(runs.count == 1)
        }
    }

    @Test("param order does not change the fingerprint; values do")
    func fingerprint() {
        let a: JSONObject = ["a": 1, "b": ["x": true, "y": [1, 2]]]
        let b: JSONObject = ["b": ["y": [1, 2], "x": true], "a": 1]
        let c: JSONObject = ["a": 1, "b": ["x": false, "y": [1, 2]]]
        #expect(IdempotencyRecords.fingerprint(a) == IdempotencyRecords.fingerprint(b))
        #expect(IdempotencyRecords.fingerprint(a) != IdempotencyRecords.fingerprint(c))
    }

    @Test("same key with other params is a Conflict, also while the first call runs")
    func conflict() async throws {
        try await withStateDirectory { directory in
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            _ = try await records.run(method: "m", key: "k", params: ["v": 1], deadline: nil) { .object([:]) }
            await #expect(throws: RolloutError.self) {
                _ = try await records.run(method: "m", key: "k", params: ["v": 2], deadline: nil) { .object([:]) }
            }
            do {
                _ = try await records.run(method: "m", key: "k", params: ["v": 2], deadline: nil) { .object([:]) }
            } catch let error as RolloutError {
                #expect(error.code == .conflict)
            }
        }
    }

    @Test("twenty concurrent calls with one key run the operation once")
    func concurrent() async throws {
        try await withStateDirectory { directory in
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            let runs = Counter()
            let results = try await withThrowingTaskGroup(of: (JSONValue, Bool).self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await records.run(method: "m", key: "k", params: ["v": 1], deadline: nil) {
                            _ = runs.increment()
                            try await Task.sleep(for: .milliseconds(50))
                            return .object(["done": true])
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(runs.count == 1)
            #expect(results.count == 20)
            #expect(results.filter { !$0.1 }.count == 1)
        }
    }

    @Test("a caller waiting on another's flight past its deadline gets InProgress", .timeLimit(.minutes(1)))
    func inProgress() async throws {
        try await withStateDirectory { directory in
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            let started = Latch()
            let release = Latch()
            let slow = Task {
                try await records.run(method: "m", key: "k", params: [:], deadline: nil) {
                    started.open()
                    await release.wait()
                    return .object([:])
                }
            }
            await started.wait()
            do {
                _ = try await records.run(method: "m", key: "k", params: [:], deadline: .now.advanced(by: .milliseconds(100))) { .object([:]) }
                Issue.record("expected InProgress")
            } catch let error as RolloutError {
                #expect(error.code == .inProgress)
            }
            release.open()
            _ = try await slow.value
        }
    }

    @Test("recoverable failures are not recorded; fatal ones are")
    func failures() async throws {
        try await withStateDirectory { directory in
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            let runs = Counter()
            for _ in 0..<2 {
                await #expect(throws: RolloutError.self) {
                    _ = try await records.run(method: "m", key: "recoverable", params: [:], deadline: nil) {
                        _ = runs.increment()
                        throw RolloutError(.unavailable, "down")
                    }
                }
            }
            #expect(runs.count == 2)
            for _ in 0..<2 {
                do {
                    _ = try await records.run(method: "m", key: "fatal", params: [:], deadline: nil) {
                        _ = runs.increment()
                        throw RolloutError(.notFound, "gone", data: ["extra": "kept"])
                    }
                } catch let error as RolloutError {
                    #expect(error.code == .notFound)
                    #expect(error.message == "gone")
                    #expect(error.data["extra"] == "kept")
                }
            }
            #expect(runs.count == 3)
        }
    }

    @Test("records survive reopening the database; expired ones are collected")
    func restartAndExpiry() async throws {
        try await withStateDirectory { directory in
            do {
                let store = try StateStore(directory: directory)
                let records = IdempotencyRecords(store: store, ttlSeconds: 60)
                _ = try await records.run(method: "m", key: "keep", params: [:], deadline: nil) { .object(["v": 1]) }
                let short = IdempotencyRecords(store: store, ttlSeconds: 0)
                _ = try await short.run(method: "m", key: "gone", params: [:], deadline: nil) { .object(["v": 1]) }
                try store.close()
            }
            let records = IdempotencyRecords(store: try StateStore(directory: directory), ttlSeconds: 60)
            let replay = try await records.run(method: "m", key: "keep", params: [:], deadline: nil) { .object(["v": 2]) }
            #expect(replay.replayed)
            #expect(replay.result == .object(["v": 1]))
            #expect(try await records.collectGarbage() == 1)
            let rerun = try await records.run(method: "m", key: "gone", params: [:], deadline: nil) { .object(["v": 2]) }
            #expect(!rerun.replayed)
        }
    }
}
