import Foundation
import RolloutAWS
import RolloutCore
import Testing
@testable import RolloutFleet

/// The fleet store against moto's DynamoDB, several stores (nodes) on one table.
@Suite("Fleet store on moto", .serialized)
struct FleetStoreMotoTests {
    static func deployment(_ id: String, alias: String = "live") -> NewFleetDeployment {
        NewFleetDeployment(
            deploymentId: id, functionName: "orders", alias: alias, record: ["step": 0, "id": .string(id)], status: "InProgress"
        )
    }

    @Test func theTableHasTheFleetSchemaAndInitIsIdempotent() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("schema")
        let again = try await FleetTable.ensure(moto.dynamoDB(), table: table)
        #expect(again == FleetTable.Setup(table: table, created: false, enabledTTL: false))
        let described = try await fleetTestBoto3(["describe", table], moto: moto)
        #expect(described["keySchema"] == [["pk", "HASH"], ["sk", "RANGE"]])
        #expect(described["attributes"] == [["pk", "S"], ["sk", "S"]])
        #expect(described["billing"] == "PAY_PER_REQUEST")
        #expect(described["ttl"] == ["ENABLED", "purgeAt"])
        try await FleetTable.verify(moto.dynamoDB(), table: table)
    }

    @Test func aMissingTableOrAnotherSchemaIsRefusedNamingTheTable() async throws {
        let moto = try await FleetTestMoto.get()
        let missing = "missing-\(UInt32.random(in: 0...UInt32.max))"
        let error = await #expect(throws: RolloutError.self) { try await FleetTable.verify(moto.dynamoDB(), table: missing) }
        #expect(error?.code == .configInvalid)
        #expect(error?.message.contains(missing) == true)
        let other = "other-\(UInt32.random(in: 0...UInt32.max))"
        _ = try await moto.dynamoDB().createTable(other, partitionKey: "id", sortKey: nil)
        let schema = await #expect(throws: RolloutError.self) { try await FleetTable.verify(moto.dynamoDB(), table: other) }
        #expect(schema?.message.contains(other) == true)
        #expect(schema?.message.contains("id (HASH, S)") == true)
    }

    @Test func onlyOneOfManyRacingStartsWinsTheAlias() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("race")
        let stores = try (0..<6).map { try moto.store(table, node: "node-\($0)") }
        let results = try await withThrowingTaskGroup(of: (Int, FleetStartResult).self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask { (index, try await store.start(Self.deployment("d-\(index)"))) }
            }
            return try await group.reduce(into: [Int: FleetStartResult]()) { $0[$1.0] = $1.1 }
        }
        let winners = results.filter { if case .started = $0.value { true } else { false } }
        #expect(winners.count == 1)
        let winner = try #require(winners.first?.key)
        for (index, result) in results where index != winner {
            #expect(result == .conflict(activeDeploymentId: "d-\(winner)"))
        }
        // Another alias of the same function is free.
        #expect(try await stores[0].start(Self.deployment("d-other", alias: "beta")) != .conflict(activeDeploymentId: "d-\(winner)"))
        let active = try await stores[3].activeLeases().map(\.deploymentId).sorted()
        #expect(active == ["d-\(winner)", "d-other"].sorted())
    }

    @Test func theItemLayoutAsBoto3SeesIt() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("layout")
        let store = try moto.store(table, node: "node-a")
        guard case .started(let lease) = try await store.start(Self.deployment("d-1")) else {
            Issue.record("not started")
            return
        }
        #expect(try await store.sendCommand(FleetCommand(id: "c1", name: "promote", payload: [:]), to: "d-1"))
        #expect(try await store.claimNotification(lease, event: "started") == .claimed)
        _ = try await store.beginIdempotent(method: "rollout.start", key: "k1", fingerprint: "f")
        let items = try #require(try await fleetTestBoto3(["items", table], moto: moto).arrayValue)
        let keys = items.map { [$0["pk"]?["S"]?.stringValue ?? "", $0["sk"]?["S"]?.stringValue ?? ""] }
        #expect(keys == [
            ["DEP#d-1", "CMD#c1"], ["DEP#d-1", "OUTBOX#started"], ["DEP#d-1", "STATE"],
            ["FLEET#ACTIVE", "ALIAS#orders#live"], ["FLEET#RECENT", try #require(keys[4].last)], ["IDEM#rollout.start#k1", "RECORD"],
        ])
        #expect(keys[4][1].count == 15 + 4 && keys[4][1].hasSuffix("#d-1"))
        #expect(items[4]["deploymentId"] == ["S": "d-1"])
        #expect(items[4]["purgeAt"]?["N"] != nil)
        let leaseItem = items[3]
        #expect(leaseItem["owner"] == ["S": "node-a"])
        #expect(leaseItem["epoch"] == ["N": "1"])
        #expect(leaseItem["deploymentId"] == ["S": "d-1"])
        #expect(leaseItem["leaseMs"] == ["N": "5000"])
        #expect(leaseItem["rvn"]?["S"]?.stringValue == lease.rvn)
        #expect(leaseItem["purgeAt"] == nil)
        let state = items[2]
        #expect(state["status"] == ["S": "InProgress"])
        #expect(state["record"]?["S"]?.stringValue.map { try? JSONParser.parse(Array($0.utf8)) } == ["step": 0, "id": "d-1"])
        #expect(state["purgeAt"] == nil)
        #expect(items[0]["purgeAt"]?["N"] != nil)
        #expect(items[5]["state"] == ["S": "started"])
    }

    @Test func renewalKeepsTheLeaseAndAStaleEpochIsFenced() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("fence")
        let a = try moto.store(table, node: "node-a")
        let b = try moto.store(table, node: "node-b")
        guard case .started(let first) = try await a.start(Self.deployment("d-1")) else {
            Issue.record("not started")
            return
        }
        guard case .held(let renewed) = try await a.renew(first) else {
            Issue.record("renewal lost")
            return
        }
        #expect(renewed.rvn != first.rvn)
        #expect(renewed.epoch == 1)
        // B cannot adopt on an RVN that a renewal replaced.
        #expect(try await b.adopt(first) == .lost(current: renewed))
        guard case .held(let adopted) = try await b.adopt(renewed) else {
            Issue.record("adoption failed")
            return
        }
        #expect(adopted.owner == "node-b")
        #expect(adopted.epoch == 2)
        // A, stale, is fenced everywhere: fence, renew, save, finish, outbox, release.
        #expect(try await a.fence(renewed) == .lost(current: adopted))
        #expect(try await a.renew(renewed) == .lost(current: adopted))
        #expect(try await a.save(renewed, record: ["step": 9], status: "InProgress") == .lost)
        #expect(try await a.finish(renewed, record: ["step": 9], status: "Succeeded") == .lost)
        #expect(try await a.claimNotification(renewed, event: "step-9") == .lost)
        #expect(try await a.release(renewed) == false)
        #expect(try await a.deployment("d-1")?.record == ["step": 0, "id": "d-1"])
        // B drives it to the end and frees the alias.
        #expect(try await b.save(adopted, record: ["step": 2], status: "InProgress") == .saved)
        #expect(try await b.deployment("d-1")?.epoch == 2)
        #expect(try await b.finish(adopted, record: ["step": 3], status: "Succeeded") == .saved)
        let finished = try #require(try await a.deployment("d-1"))
        #expect(finished.isFinished && finished.status == "Succeeded" && finished.writer == "node-b")
        #expect(try await a.activeLeases().isEmpty)
        guard case .started = try await a.start(Self.deployment("d-2")) else {
            Issue.record("the alias was not freed")
            return
        }
    }

    /// The Lock-Client way on a real table: B watches A's lease with its own monotonic clock and
    /// adopts only once the RVN stayed the same for a whole lease; while A renews, never.
    @Test func adoptionOnlyAfterTheLease() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("adopt")
        let lease = Duration.seconds(5)
        let a = try moto.store(table, node: "node-a", lease: lease)
        let b = try moto.store(table, node: "node-b", lease: lease)
        let clock = ContinuousClock()
        let origin = clock.now
        func now() -> Duration { clock.now - origin }
        guard case .started(let started) = try await a.start(Self.deployment("d-1")) else {
            Issue.record("not started")
            return
        }
        var holder = LeaseHolder(lease: started, sentAt: .zero)
        var observer = LeaseObserver(nodeID: "node-b")
        // A renews for 7 s (more than a lease): B sees fresh RVNs and adopts nothing.
        while now() < .seconds(7) {
            if case .renew = holder.next(at: now()) {
                let sentAt = now()
                guard case .held(let renewed) = try await a.renew(holder.lease) else {
                    Issue.record("renewal lost")
                    return
                }
                holder.renewalSucceeded(renewed, sentAt: sentAt)
            }
            #expect(observer.observe(try await b.activeLeases(), at: now()).isEmpty)
            try await Task.sleep(for: .milliseconds(250))
        }
        // A dies. B adopts once a whole lease passed on its clock since it last saw a change.
        let diedAt = now()
        var adopted: FleetLease?
        while adopted == nil, now() < diedAt + .seconds(12) {
            for expired in observer.observe(try await b.activeLeases(), at: now()) {
                if case .held(let lease) = try await b.adopt(expired) { adopted = lease }
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        let adoptedAt = now()
        #expect(adopted?.epoch == 2)
        #expect(adoptedAt - diedAt >= lease - .seconds(2))
        // The upper bound is loose: B polls every 250 ms, but moto and this task can be slow on a loaded machine.
        #expect(adoptedAt - diedAt <= lease + .seconds(8))
        #expect(!holder.canAct(at: adoptedAt))
    }

    @Test func commandsAreAppliedOnceWithTheStateTheyLedTo() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("commands")
        let owner = try moto.store(table, node: "node-a")
        let other = try moto.store(table, node: "node-b")
        guard case .started(let lease) = try await owner.start(Self.deployment("d-1")) else {
            Issue.record("not started")
            return
        }
        #expect(try await other.sendCommand(FleetCommand(id: "c-1", name: "promote", payload: ["reason": "ok"]), to: "d-1"))
        #expect(try await other.sendCommand(FleetCommand(id: "c-1", name: "promote", payload: ["reason": "ok"]), to: "d-1") == false)
        #expect(try await other.sendCommand(FleetCommand(id: "c-2", name: "stop", payload: [:]), to: "d-1"))
        let pending = try await owner.pendingCommands("d-1")
        #expect(pending.map(\.id) == ["c-1", "c-2"])
        #expect(pending.first?.payload == ["reason": "ok"])
        #expect(pending.first?.from == "node-b")
        #expect(try await owner.save(lease, record: ["promoted": true], status: "InProgress", consumingCommands: ["c-1"]) == .saved)
        #expect(try await owner.pendingCommands("d-1").map(\.id) == ["c-2"])
        // Consuming it again fails whole: nothing is written.
        #expect(
            try await owner.save(lease, record: ["promoted": "twice"], status: "InProgress", consumingCommands: ["c-1", "c-2"])
                == .commandGone("c-1")
        )
        #expect(try await owner.deployment("d-1")?.record == ["promoted": true])
        #expect(try await owner.pendingCommands("d-1").map(\.id) == ["c-2"])
    }

    /// Every node tries to publish every event of a deployment whose lease moves from node to
    /// node: each event is claimed once per epoch, and once confirmed never again.
    @Test func outboxClaimsAreExactlyOnce() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("outbox")
        let stores = try (0..<3).map { try moto.store(table, node: "node-\($0)") }
        guard case .started(var lease) = try await stores[0].start(Self.deployment("d-1")) else {
            Issue.record("not started")
            return
        }
        // Owner 0 claims and confirms "started"; claims "step-1" and dies before publishing.
        #expect(try await stores[0].claimNotification(lease, event: "started") == .claimed)
        #expect(try await stores[0].confirmNotification(lease, event: "started", messageId: "m-1"))
        #expect(try await stores[0].claimNotification(lease, event: "step-1") == .claimed)
        // Every node races for both events with what it believes is the lease.
        let epoch1 = lease
        let racing = try await withThrowingTaskGroup(of: FleetOutboxClaim.self) { group in
            for store in stores {
                for event in ["started", "step-1"] {
                    group.addTask { try await store.claimNotification(epoch1, event: event) }
                }
            }
            return try await group.reduce(into: [FleetOutboxClaim]()) { $0.append($1) }
        }
        // Only the owner's own retry of its unconfirmed "step-1" claim goes through.
        #expect(racing.filter { $0 == .claimed }.count == 1)
        #expect(racing.filter { $0 == .lost }.count == 4)
        // Node 1 adopts: the unconfirmed claim of epoch 1 passes to it, the sent one does not.
        guard case .held(let adopted) = try await stores[1].adopt(lease) else {
            Issue.record("adoption failed")
            return
        }
        lease = adopted
        #expect(try await stores[1].claimNotification(lease, event: "started") == .alreadySent)
        #expect(try await stores[1].claimNotification(lease, event: "step-1") == .claimed)
        // The old owner wakes up and confirms its claim: refused, the adopter's stands.
        #expect(try await stores[0].confirmNotification(epoch1, event: "step-1", messageId: "late") == false)
        #expect(try await stores[1].confirmNotification(lease, event: "step-1", messageId: "m-2"))
        #expect(try await stores[2].claimNotification(lease, event: "step-1") == .lost)
        #expect(try await stores[1].claimNotification(lease, event: "step-1") == .alreadySent)
        #expect(try await stores[2].sentNotifications("d-1").sorted() == ["started", "step-1"])
    }

    @Test func idempotencyRecordsReplayAcrossNodes() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("idem")
        let a = try moto.store(table, node: "node-a")
        let b = try moto.store(table, node: "node-b")
        guard case .run(let token) = try await a.beginIdempotent(method: "rollout.start", key: "k-1", fingerprint: "fp-1") else {
            Issue.record("not run")
            return
        }
        guard case .inProgress(let node, _, _) = try await b.beginIdempotent(method: "rollout.start", key: "k-1", fingerprint: "fp-1") else {
            Issue.record("not in progress")
            return
        }
        #expect(node == "node-a")
        #expect(try await a.finishIdempotent(method: "rollout.start", key: "k-1", token: token, result: ["deploymentId": "d-9"]))
        #expect(try await b.beginIdempotent(method: "rollout.start", key: "k-1", fingerprint: "fp-1") == .replay(["deploymentId": "d-9"]))
        #expect(try await b.beginIdempotent(method: "rollout.start", key: "k-1", fingerprint: "fp-other") == .mismatch)
        // Keys are per method.
        guard case .run = try await b.beginIdempotent(method: "rollout.stop", key: "k-1", fingerprint: "fp-1") else {
            Issue.record("keys collide across methods")
            return
        }
        // A call that failed with no effect leaves no record; a dead node's record can be taken over.
        guard case .run(let second) = try await a.beginIdempotent(method: "rollout.promote", key: "k-2", fingerprint: "f") else {
            Issue.record("not run")
            return
        }
        try await a.abandonIdempotent(method: "rollout.promote", key: "k-2", token: second)
        guard case .run(let third) = try await b.beginIdempotent(method: "rollout.promote", key: "k-2", fingerprint: "f") else {
            Issue.record("abandoned record still there")
            return
        }
        let taken = try await a.takeOverIdempotent(method: "rollout.promote", key: "k-2", staleToken: third)
        #expect(taken != nil)
        #expect(try await b.finishIdempotent(method: "rollout.promote", key: "k-2", token: third, result: [:]) == false)
        #expect(try await a.takeOverIdempotent(method: "rollout.promote", key: "k-2", staleToken: third) == nil)
    }
}
