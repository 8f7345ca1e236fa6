import Foundation
import RolloutCore
import Synchronization
import Testing
@testable import RolloutFleet

/// Fleet-wide keys of rollout.start/stop/promote (SPEC §11), two nodes on one moto table.
@Suite("Fleet idempotency gate on moto", .serialized)
struct FleetIdempotencyGateTests {
    /// The state database's gate of a node: these tests must not reach it for rollout methods.
    struct LocalGate: IdempotencyGate {
        func run(
            method: String, key: String, params: JSONObject, deadline: ContinuousClock.Instant?,
            operation: @escaping @Sendable () async throws -> JSONValue
        ) async throws -> (result: JSONValue, replayed: Bool) {
            (["local": true], false)
        }
    }

    @Test func aKeyReplaysOnAnotherNodeAndADeadNodesCallIsTakenOver() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("gate")
        let a = FleetIdempotencyGate(fleet: try moto.store(table, node: "node-a"), local: LocalGate())
        let b = FleetIdempotencyGate(fleet: try moto.store(table, node: "node-b"), local: LocalGate(), takeOverAfter: .milliseconds(500))
        let runs = Mutex(0)
        let first = try await a.run(method: "rollout.start", key: "k1", params: ["alias": "live", "function": "fn"], deadline: nil) {
            runs.withLock { $0 += 1 }
            #expect(IdempotentCall.current?.resuming == false && IdempotentCall.current?.createdAt == 0)
            return ["deploymentId": "d-1"]
        }
        #expect(first.replayed == false)
        // Same key and params (in another order) on node B: replayed, not run.
        let again = try await b.run(method: "rollout.start", key: "k1", params: ["function": "fn", "alias": "live"], deadline: nil) {
            runs.withLock { $0 += 1 }
            return [:]
        }
        #expect(again.result == ["deploymentId": "d-1"] && again.replayed)
        #expect(runs.withLock { $0 } == 1)
        await #expect(throws: RolloutError.self) {
            try await b.run(method: "rollout.start", key: "k1", params: ["function": "other"], deadline: nil) { [:] }
        }
        // Other methods keep the node's own records.
        #expect(try await b.run(method: "object.put", key: "k1", params: [:], deadline: nil) { [:] }.result == ["local": true])
        // A call node A began and never finished (A died): B takes it over as a resumption.
        _ = try await moto.store(table, node: "node-a").beginIdempotent(
            method: "rollout.stop", key: "k2", fingerprint: FleetIdempotencyGate.digest([:]).map { String(format: "%02x", $0) }.joined()
        )
        let resumed = try await b.run(method: "rollout.stop", key: "k2", params: [:], deadline: nil) {
            ["resuming": .bool(IdempotentCall.current?.resuming == true)]
        }
        #expect(resumed.result == ["resuming": true])
    }

    @Test("a running call's beats keep waiters off it past its lease; a silent one is taken over after one lease")
    func beatsTellALiveCallFromADeadOne() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("beat")
        // 2 s: beats come every third of a lease, and a loaded machine can hold a task back a
        // second or more (a 1 s lease would let B take over a live call there).
        let lease = Duration.seconds(2)
        let a = FleetIdempotencyGate(fleet: try moto.store(table, node: "node-a", lease: lease), local: LocalGate())
        let b = FleetIdempotencyGate(fleet: try moto.store(table, node: "node-b", lease: lease), local: LocalGate())
        let runs = Mutex(0)
        // A's call runs for 3 leases, beating; B waits for it instead of running it again.
        let slow = Task {
            try await a.run(method: "rollout.start", key: "slow", params: [:], deadline: nil) {
                runs.withLock { $0 += 1 }
                try await Task.sleep(for: lease * 3)
                return ["deploymentId": "d-slow"]
            }
        }
        // B asks once A's call is running (a fixed pause let B win the race on a loaded machine).
        for _ in 0..<500 where runs.withLock({ $0 }) == 0 {
            try await Task.sleep(for: .milliseconds(20))
        }
        let waited = try await b.run(method: "rollout.start", key: "slow", params: [:], deadline: nil) {
            runs.withLock { $0 += 1 }
            return ["deploymentId": "d-twice"]
        }
        #expect(waited.result == ["deploymentId": "d-slow"] && waited.replayed)
        #expect(try await slow.value.result == ["deploymentId": "d-slow"])
        #expect(runs.withLock { $0 } == 1)
        // A node that began a call and died (no beats): B takes it over after about one lease.
        _ = try await moto.store(table, node: "node-dead", lease: lease).beginIdempotent(
            method: "rollout.stop", key: "orphan", fingerprint: FleetIdempotencyGate.digest([:]).map { String(format: "%02x", $0) }.joined()
        )
        let clock = ContinuousClock()
        let started = clock.now
        let resumed = try await b.run(method: "rollout.stop", key: "orphan", params: [:], deadline: nil) {
            ["resuming": .bool(IdempotentCall.current?.resuming == true)]
        }
        #expect(resumed.result == ["resuming": true])
        // About one lease of silence, not the old minute (loose: a loaded machine is slow).
        #expect(clock.now - started >= lease && clock.now - started < .seconds(30))
    }
}
