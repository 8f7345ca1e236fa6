import Glibc
import RolloutCore
@testable import RolloutStore
import Testing

/// State databases written by earlier versions open unchanged.
@Suite("state database files of earlier versions")
struct StateFileTests {
    /// `Fixtures/state-v4-grdb.sqlite`: written by the daemon when it used GRDB (schema v4, its
    /// `grdb_migrations` table), holding an object, two messages (one received) and two records.
    static let fixture = String(#filePath.dropLast("StateFileTests.swift".count)) + "Fixtures/state-v4-grdb.sqlite"

    private static func schema(_ store: StateStore) throws -> [String] {
        try store.readBlocking { db in
            try db.rows("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY name").map { row throws in
                try [row["type"], row["name"], row["tbl_name"], row["sql"] ?? "-"].joined(separator: " | ")
            }
        }
    }

    @Test("a database written with GRDB opens with its rows, and its schema is the one a new database gets, byte for byte")
    func grdbFileOpens() async throws {
        try await withStateDirectory { directory in
            #expect(mkdir(directory, 0o700) == 0)
            #expect(system("cp '\(Self.fixture)' '\(directory)/state.sqlite'") == 0)
            let store = try StateStore(directory: directory)
            let migrations = try store.readBlocking { db in try db.values("SELECT identifier FROM grdb_migrations ORDER BY identifier", as: String.self) }
            #expect(migrations == StateStore.migrations.map(\.identifier))

            let tables = SQLiteLocalTables(store: store)
            let object = try #require(try tables.lookup("docs/a.txt"))
            #expect(object.size == 5 && object.etag == "5d41402abc4b2a76b9719d911017c592" && object.metadata == ["k": "v"])
            #expect(object.contentType == nil && object.lastModified == 1_796_542_743_763)
            let records = IdempotencyRecords(store: store, ttlSeconds: 60)
            guard case .finished(let outcome) = try await records.storedRecord(method: "queue.send", key: "send-1") else {
                Issue.record("the record of send-1 is missing")
                return
            }
            #expect(outcome == .object(["result": .object(["messageId": "873892d731866e2445dc5ff13601e731"])]))
            // b1 was received (invisible for 30 s), b2 was not.
            let taken = try await tables.take(receipts: ["r1", "r2"], visibilitySeconds: 30, now: 1_796_542_744)
            #expect(taken.messages.map(\.body) == ["b2"])
            #expect(taken.messages.first?.receiveCount == 1)

            let fresh = try StateStore(directory: directory + "-fresh")
            #expect(try Self.schema(store) == Self.schema(fresh))
            try fresh.close()
            try store.close()
        }
    }
}
