import RolloutCore
import RolloutEngine
import Testing
@testable import RolloutFleet

/// ``FleetRecords`` — the engine's record store in fleet mode — with two nodes on one moto table.
@Suite("Fleet records on moto", .serialized)
struct FleetRecordsMotoTests {
    /// CodeDeploy records of a node: none in these tests.
    struct NoLocalRecords: RolloutRecordStore {
        func create(_ record: RolloutRecord) async throws(RolloutError) -> String? { nil }
        func save(_ record: RolloutRecord) async throws(RolloutError) {}
        func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord? { nil }
        func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord] { [] }
        func active() async throws(RolloutError) -> [RolloutRecord] { [] }
        func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> { [] }
        func claimNotification(_ deploymentId: String, event: NotificationEvent) async throws(RolloutError) -> Bool { false }
        func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {}
        func forward(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> Bool { false }
    }

    static func record(_ id: String, function: String = "orders", status: DeploymentStatus = .created) -> RolloutRecord {
        RolloutRecord(
            deploymentId: id, engine: .native,
            request: RolloutRequest(function: function, alias: "live", targetVersion: "2", strategy: .allAtOnce),
            fromVersion: "1", toVersion: "2", createdAt: 1_000, status: status
        )
    }

    @Test func functionNamesAndARNsClaimOneAlias() {
        #expect(FunctionName.normalized("orders") == "orders")
        #expect(FunctionName.normalized("arn:aws:lambda:us-east-1:123456789012:function:orders") == "orders")
        #expect(FunctionName.normalized("arn:aws:lambda:us-east-1:123456789012:function:orders:live") == "orders")
        #expect(FunctionName.normalized("123456789012:function:orders") == "orders")
    }

    @Test func codeDeployRecordsClaimTheAliasWithoutALeaseAndFinishOnce() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("codedeploy")
        let a = FleetRecords(fleet: try moto.store(table, node: "node-a"), local: NoLocalRecords())
        let b = FleetRecords(fleet: try moto.store(table, node: "node-b"), local: NoLocalRecords())
        var record = Self.record("d-CD1")
        record.engine = .codedeploy
        #expect(try await a.create(record) == nil)
        // One active deployment per alias, whatever the engines.
        var other = Self.record("d-CD2")
        other.engine = .codedeploy
        #expect(try await b.create(other) == "d-CD1")
        #expect(try await b.create(Self.record("d-2")) == "d-CD1")
        // Every node reads it; nobody holds, renews or adopts a lease for it.
        #expect(try await b.load("d-CD1")?.engine == .codedeploy)
        #expect(try await b.active().map(\.deploymentId) == ["d-CD1"])
        #expect(try await b.list(function: "orders", alias: nil, status: nil, limit: 10).map(\.deploymentId) == ["d-CD1"])
        #expect(try await a.fleet.activeLeases().isEmpty)
        let owned = (await a.owned, await b.owned)
        #expect(owned.0.isEmpty && owned.1.isEmpty)
        #expect(await b.scanForExpired().isEmpty)
        // Commands are not stored for an owner: every node applies them through CodeDeploy.
        #expect(try await b.forward(.stop, to: "d-CD1") == false)
        // Any node saves the status it read from CodeDeploy.
        record.status = .inProgress
        try await b.save(record)
        #expect(try await a.load("d-CD1")?.status == .inProgress)
        // The end is recorded once, whoever sees it first, and frees the alias.
        record.status = .stopped
        let encoded = try FleetRecords.encode(record)
        let finishes = (
            try await a.fleet.finishUnleased("d-CD1", functionName: "orders", alias: "live", record: encoded, status: "Stopped"),
            try await b.fleet.finishUnleased("d-CD1", functionName: "orders", alias: "live", record: encoded, status: "Stopped")
        )
        #expect(finishes == (true, false))
        try await b.save(record)
        // A late poll that still saw it running changes nothing.
        record.status = .inProgress
        try await a.save(record)
        #expect(try await b.load("d-CD1")?.status == .stopped)
        #expect(try await a.active().isEmpty)
        #expect(try await b.create(Self.record("d-2")) == nil)
    }

    @Test func oneNodeDrivesTheOtherReadsForwardsAndIsFenced() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("records")
        let a = FleetRecords(fleet: try moto.store(table, node: "node-a"), local: NoLocalRecords())
        let b = FleetRecords(fleet: try moto.store(table, node: "node-b"), local: NoLocalRecords())
        #expect(try await a.create(Self.record("d-1")) == nil)
        // The claim is per function name, whichever spelling.
        let arn = "arn:aws:lambda:us-east-1:123456789012:function:orders"
        #expect(try await b.create(Self.record("d-2", function: arn)) == "d-1")
        #expect(try await b.load("d-1")?.toVersion == "2")
        #expect(try await b.list(function: arn, alias: "live", status: nil, limit: 10).map(\.deploymentId) == ["d-1"])
        #expect(try await b.active().map(\.deploymentId) == ["d-1"])
        let drives = (await a.drives("d-1"), await b.drives("d-1"))
        #expect(drives == (true, false))
        // Only the holder passes the fence and may save.
        let fences = (await a.fence("d-1"), await b.fence("d-1"))
        #expect(fences == (true, false))
        await #expect(throws: RolloutError.self) { try await b.save(Self.record("d-1", status: .inProgress)) }
        // A command on the other node is stored for the owner and consumed by its next save.
        #expect(try await a.forward(.pause, to: "d-1") == false)
        #expect(try await b.forward(.pause, to: "d-1"))
        let pending = await a.pendingCommands()
        #expect(pending.map(\.deploymentId) == ["d-1"] && pending.first?.commands.map(\.name) == ["pause"])
        let ids = pending.first?.commands.map(\.id) ?? []
        let first = await a.consume(ids, of: "d-1")
        let second = await a.consume(ids, of: "d-1")
        #expect(first == Set(ids) && second.isEmpty)
        try await a.save(Self.record("d-1", status: .inProgress))
        #expect(try await a.fleet.pendingCommands("d-1").isEmpty)
        // Notifications: claimed under the lease, once.
        #expect(try await a.claimNotification("d-1", event: .deploymentStart))
        try await a.markSent("d-1", event: .deploymentStart, messageId: "m-1", at: 1_001)
        #expect(!(try await a.claimNotification("d-1", event: .deploymentStart)))
        #expect(!(try await b.claimNotification("d-1", event: .deploymentSuccess)))
        #expect(try await b.sentNotifications("d-1") == [.deploymentStart])
        // The terminal record, then finished(): the alias is free for the next deployment.
        try await a.save(Self.record("d-1", status: .succeeded))
        #expect(try await b.create(Self.record("d-3")) == "d-1")
        await a.finished("d-1")
        let stillDriving = await a.drives("d-1")
        #expect(!stillDriving)
        #expect(try await b.create(Self.record("d-3")) == nil)
        #expect(try await a.load("d-1")?.status == .succeeded)
    }
}
