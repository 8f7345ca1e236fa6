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
        let moto = try FleetTestMoto.get()
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
}
