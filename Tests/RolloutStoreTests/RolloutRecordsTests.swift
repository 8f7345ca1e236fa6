import RolloutCore
import RolloutEngine
import RolloutStore
import Testing

@Suite("Rollout records in SQLite")
struct RolloutRecordsTests {
    static func record(_ id: String, function: String = "fn", at: Double, status: DeploymentStatus = .inProgress) throws -> RolloutRecord {
        var machine = try RolloutStateMachine(.init(fromVersion: "1", toVersion: "2", strategy: .linear(percent: 25, intervalSeconds: 5)))
        _ = machine.handle(.start(now: at))
        return RolloutRecord(
            deploymentId: id, engine: .native,
            request: RolloutRequest(
                function: function, alias: "live", targetVersion: "2", strategy: .linear(percent: 25, intervalSeconds: 5),
                hooks: RolloutHooks(beforeTraffic: "smoke", timeoutSeconds: 60), notifyTopicArn: "arn:aws:sns:us-east-1:1:t"
            ),
            fromVersion: "1", toVersion: "2", createdAt: at, status: status, snapshot: machine.snapshot
        )
    }

    @Test("a record survives reopening the database byte for byte, snapshot included")
    func roundTrip() async throws {
        try await withStateDirectory { directory in
            let original = try Self.record("d-A", at: 100)
            try await RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory))).save(original)
            let reopened = RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory)))
            #expect(try await reopened.load("d-A") == original)
            #expect(try await reopened.load("d-B") == nil)
        }
    }

    @Test("list filters and orders newest first; active excludes terminal records; save replaces")
    func queries() async throws {
        try await withStateDirectory { directory in
            let records = RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory)))
            try await records.save(try Self.record("d-1", at: 1))
            try await records.save(try Self.record("d-2", function: "other", at: 2))
            try await records.save(try Self.record("d-3", at: 3, status: .succeeded))
            #expect(try await records.list(function: nil, alias: nil, status: nil, limit: 10).map(\.deploymentId) == ["d-3", "d-2", "d-1"])
            #expect(try await records.list(function: "fn", alias: "live", status: nil, limit: 10).map(\.deploymentId) == ["d-3", "d-1"])
            #expect(try await records.list(function: nil, alias: nil, status: .succeeded, limit: 10).map(\.deploymentId) == ["d-3"])
            #expect(try await records.list(function: nil, alias: nil, status: nil, limit: 1).map(\.deploymentId) == ["d-3"])
            #expect(Set(try await records.active().map(\.deploymentId)) == ["d-1", "d-2"])
            var finished = try Self.record("d-1", at: 1)
            finished.status = .stopped
            try await records.save(finished)
            #expect(try await records.active().map(\.deploymentId) == ["d-2"])
            #expect(try await records.load("d-1")?.status == .stopped)
        }
    }

    @Test("the outbox: decided notifications minus those marked sent, marking twice is harmless")
    func outbox() async throws {
        try await withStateDirectory { directory in
            let records = RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory)))
            let record = try Self.record("d-N", at: 5)
            #expect(record.snapshot?.notified == [.deploymentStart])
            try await records.save(record)
            #expect(try await records.unsentNotifications().map { $0.events } == [[.deploymentStart]])
            try await records.markSent("d-N", event: .deploymentStart, messageId: "m1", at: 6)
            try await records.markSent("d-N", event: .deploymentStart, messageId: "m2", at: 7)
            #expect(try await records.sentNotifications("d-N") == [.deploymentStart])
            #expect(try await records.unsentNotifications().isEmpty)
        }
    }
}
