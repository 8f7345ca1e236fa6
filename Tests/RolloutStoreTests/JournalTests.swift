import RolloutCore
import RolloutStore
import Testing

@Suite("Journals in the state database: queue leases and multipart uploads")
struct JournalTests {
    @Test("leases are recorded, extended and forgotten, and survive reopening the database")
    func leases() async throws {
        try await withStateDirectory { directory in
            let first = JournaledLease(receipt: "r1", queue: "local", connectionID: UInt64.max, visibilitySeconds: 30, leasedUntil: 100)
            let second = JournaledLease(receipt: "r2", queue: "https://sqs/q", connectionID: 7, visibilitySeconds: 5, leasedUntil: 50)
            do {
                let store = try StateStore(directory: directory)
                let journal = SQLiteLeaseJournal(store: store)
                try await journal.record([first, second])
                try await journal.extended(receipt: "r1", leasedUntil: 130)
                try store.close()
            }
            let store = try StateStore(directory: directory)
            defer { try? store.close() }
            let journal = SQLiteLeaseJournal(store: store)
            var extended = first
            extended.leasedUntil = 130
            #expect(try await journal.all() == [second, extended])
            // Recording a receipt again replaces its row.
            try await journal.record([second])
            #expect(try await journal.all().count == 2)
            try await journal.forget(receipts: ["r2", "unknown"])
            #expect(try await journal.all() == [extended])
            try await journal.forget(receipts: [])
            try await journal.record([])
            #expect(try await journal.all() == [extended])
        }
    }

    @Test("the in-memory lease journal behaves as the SQLite one")
    func inMemoryLeases() async throws {
        let journal: any LeaseJournal = InMemoryLeaseJournal()
        let lease = JournaledLease(receipt: "r", queue: "local", connectionID: 1, visibilitySeconds: 30, leasedUntil: 1)
        try await journal.record([lease])
        try await journal.extended(receipt: "r", leasedUntil: 2)
        #expect(try await journal.all().map(\.leasedUntil) == [2])
        try await journal.forget(receipts: ["r"])
        #expect(try await journal.all().isEmpty)
    }

    @Test("upload journal rows are kept per store until cleared, oldest first")
    func uploads() async throws {
        try await withStateDirectory { directory in
            let store = try StateStore(directory: directory)
            defer { try? store.close() }
            let bucket = SQLiteUploadJournal(store: store, storeName: "s3://a")
            let other = SQLiteUploadJournal(store: store, storeName: "s3://b")
            try await bucket.record(uploadId: "u1", key: "k1")
            try await bucket.record(uploadId: "u2", key: "k2")
            try await other.record(uploadId: "u3", key: "k3")
            #expect(try await bucket.pending().map(\.uploadId) == ["u1", "u2"])
            try await bucket.clear(uploadId: "u1")
            #expect(try await bucket.pending().map { [$0.uploadId, $0.key] } == [["u2", "k2"]])
            #expect(try await other.pending().map(\.key) == ["k3"])
        }
    }
}
