import RolloutCore
import RolloutEngine
import RolloutStore
import Testing

@Suite("The per-alias claim of the rollout records")
struct RolloutClaimTests {
    @Test("create saves a new deployment unless one that is not terminal is on the alias, and answers that one's id")
    func oneActiveDeploymentPerAlias() async throws {
        try await withStateDirectory { directory in
            let records = RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory)))
            #expect(try await records.create(try RolloutRecordsTests.record("d-1", at: 1)) == nil)
            #expect(try await records.create(try RolloutRecordsTests.record("d-2", at: 2)) == "d-1")
            #expect(try await records.load("d-2") == nil, "nothing is saved on conflict")
            #expect(try await records.create(try RolloutRecordsTests.record("d-3", function: "other", at: 3)) == nil)
            try await records.save(try RolloutRecordsTests.record("d-1", at: 1, status: .succeeded))
            #expect(try await records.create(try RolloutRecordsTests.record("d-4", at: 4)) == nil, "a terminal deployment holds no claim")
            #expect(Set(try await records.active().map(\.deploymentId)) == ["d-3", "d-4"])
        }
    }

    @Test("a notification is claimed until it is marked sent")
    func notificationClaim() async throws {
        try await withStateDirectory { directory in
            let records = RolloutRecords(rows: SQLiteRolloutRows(store: try StateStore(directory: directory)))
            try await records.save(try RolloutRecordsTests.record("d-N", at: 5))
            #expect(try await records.claimNotification("d-N", event: .deploymentStart))
            try await records.markSent("d-N", event: .deploymentStart, messageId: "m1", at: 6)
            #expect(try await !records.claimNotification("d-N", event: .deploymentStart))
        }
    }
}
