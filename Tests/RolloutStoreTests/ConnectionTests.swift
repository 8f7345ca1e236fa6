import CSQLite
import Dispatch
import Glibc
import RolloutCore
@testable import RolloutStore
import Testing

/// A fresh directory holding nothing; removed afterwards.
private func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
    try await withStateDirectory { directory in
        #expect(mkdir(directory, 0o700) == 0)
        return try await body(directory)
    }
}

@Suite("SQLite connection wrapper")
struct ConnectionTests {
    private static func table(_ directory: String) throws -> Connection {
        let db = try Connection(path: directory + "/t.sqlite", create: true)
        try db.execute("CREATE TABLE t (i INTEGER, r REAL, s TEXT, b BLOB)")
        return db
    }

    @Test("integers at the extremes, reals, text with NUL and non-ASCII, blobs and NULL round-trip")
    func roundTrips() async throws {
        try await withDirectory { directory in
            let db = try Self.table(directory)
            let texts = ["", "a\0b", "héllo wörld 🚀 日本", String(repeating: "x", count: 100_000)]
            let blobs: [[UInt8]] = [[], [0], [0, 255, 0, 1], Array(repeating: 7, count: 70_000)]
            for (integer, real, text, blob) in zip4([Int64.min, Int64.max, 0, -1], [-0.5, 1e300, .pi, 0], texts, blobs) {
                try db.execute("DELETE FROM t")
                try db.execute("INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)", [integer, real, text, blob])
                let row = try #require(try db.row("SELECT i, r, s, b FROM t"))
                #expect(try row["i"] == integer)
                #expect(try row["r"] == real)
                #expect(try row["s"] == text)
                #expect(try row["b"] == blob)
                // An empty text or blob is not NULL.
                #expect(try db.value("SELECT s IS NULL OR b IS NULL FROM t", as: Bool.self) == false)
                #expect(try db.value("SELECT length(CAST(s AS BLOB)) FROM t", as: Int.self) == text.utf8.count)
            }
            try db.execute("DELETE FROM t")
            try db.execute("INSERT INTO t (i, r, s, b) VALUES (?, ?, ?, ?)", [Int64?.none, Double?.none, String?.none, [UInt8]?.none])
            let row = try #require(try db.row("SELECT i, r, s, b FROM t"))
            #expect(try row["i"] as Int64? == nil)
            #expect(try row["s"] as String? == nil)
            #expect(try row["b"] as [UInt8]? == nil)
            #expect(throws: StoreError.self) { try row["s"] as String }
            #expect(try db.value("SELECT s FROM t", as: String.self) == nil)
            #expect(try db.value("SELECT s FROM t WHERE 0", as: String.self) == nil)
        }
    }

    @Test("a column read as the wrong kind, or a missing column, is an error naming it")
    func columnErrors() async throws {
        try await withDirectory { directory in
            let db = try Self.table(directory)
            try db.execute("INSERT INTO t (i, s) VALUES (?, ?)", [1.5, "text"])
            let row = try #require(try db.row("SELECT i, s FROM t"))
            let mismatch = #expect(throws: StoreError.self) { try row["s"] as Int64 }
            #expect(mismatch?.description.contains("column s") == true)
            #expect(mismatch?.description.contains("TEXT") == true)
            // 1.5 is not a whole number: not an integer either.
            #expect(throws: StoreError.self) { try row["i"] as Int64 }
            let missing = #expect(throws: StoreError.self) { try row["nope"] as String }
            #expect(missing?.description.contains("nope") == true)
        }
    }

    @Test("errors name the statement and SQLite's message")
    func errorsNameTheStatement() async throws {
        try await withDirectory { directory in
            let db = try Self.table(directory)
            let syntax = #expect(throws: StoreError.self) { try db.execute("SELEC oops FROM t") }
            #expect(syntax?.description.contains("SELEC oops FROM t") == true)
            #expect(syntax?.description.contains("syntax error") == true)
            try db.execute("CREATE UNIQUE INDEX t_i ON t (i)")
            try db.execute("INSERT INTO t (i) VALUES (?)", [1])
            let constraint = #expect(throws: StoreError.self) { try db.execute("INSERT INTO t (i) VALUES (?)", [1]) }
            #expect(constraint?.description.contains("INSERT INTO t (i) VALUES (?)") == true)
            #expect(constraint?.description.contains("UNIQUE constraint failed: t.i") == true)
            #expect(constraint?.code == 2067)  // SQLITE_CONSTRAINT_UNIQUE, an extended code
            let count = #expect(throws: StoreError.self) { try db.execute("INSERT INTO t (i, s) VALUES (?, ?)", [2]) }
            #expect(count?.description.contains("1 arguments for 2 parameters") == true)
            let script = #expect(throws: StoreError.self) { try db.execute("DELETE FROM t; DROP TABLE t") }
            #expect(script?.description.contains("more than one statement") == true)
            #expect(try db.value("SELECT count(*) FROM t", as: Int.self) == 1)
            // Double-quoted strings are identifiers only: a misspelt column is an error.
            #expect(throws: StoreError.self) { try db.execute("SELECT \"nope\" FROM t") }
        }
    }

    @Test("a transaction rolls back when its body throws, and when a statement in it fails")
    func rollback() async throws {
        try await withDirectory { directory in
            let db = try Self.table(directory)
            struct Abort: Error {}
            #expect(throws: Abort.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t (i) VALUES (?)", [1])
                    throw Abort()
                }
            }
            try db.execute("CREATE UNIQUE INDEX t_i ON t (i)")
            #expect(throws: StoreError.self) {
                try db.transaction {
                    try db.execute("INSERT INTO t (i) VALUES (?)", [2])
                    try db.execute("INSERT INTO t (i) VALUES (?)", [2])
                }
            }
            #expect(try db.value("SELECT count(*) FROM t", as: Int.self) == 0)
            // The connection is usable afterwards, outside any transaction.
            #expect(!db.isInTransaction)
            let inserted = try db.transaction { () throws -> Int in
                try db.execute("INSERT INTO t (i) VALUES (?)", [3])
                return db.changes
            }
            #expect(inserted == 1)
            #expect(try db.values("SELECT i FROM t", as: Int64.self) == [3])
        }
    }

    @Test("a writer waits for another's lock up to the busy timeout, then fails with SQLITE_BUSY naming the statement")
    func busy() async throws {
        try await withDirectory { directory in
            let path = directory + "/t.sqlite"
            let holder = try Self.table(directory)
            try holder.execute("BEGIN IMMEDIATE")
            let impatient = try Connection(path: path, create: false, busyTimeoutMilliseconds: 50)
            let started = ContinuousClock.now
            let busy = #expect(throws: StoreError.self) { try impatient.transaction { try impatient.execute("DELETE FROM t") } }
            #expect(busy?.code == SQLITE_BUSY)
            #expect(busy?.description.contains("BEGIN IMMEDIATE") == true)
            #expect(ContinuousClock.now - started >= .milliseconds(40))
            // A patient writer gets the lock once the holder commits, inside its timeout.
            let patient = try Connection(path: path, create: false, busyTimeoutMilliseconds: 10_000)
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(100)) {
                try? holder.execute("COMMIT")
            }
            try patient.transaction { try patient.execute("INSERT INTO t (i) VALUES (?)", [1]) }
            #expect(try patient.value("SELECT count(*) FROM t", as: Int.self) == 1)
        }
    }

    @Test("a closed store refuses work with an error, it does not crash")
    func closedStore() async throws {
        try await withStateDirectory { directory in
            let store = try StateStore(directory: directory)
            try store.close()
            await #expect(throws: StoreError.self) { try await store.read { db in try db.value("SELECT 1", as: Int.self) } }
            await #expect(throws: StoreError.self) { try await store.write { db in try db.execute("SELECT 1") } }
        }
    }

    @Test("reads see committed writes, and run beside an open write transaction (WAL)")
    func readsBesideWriter() async throws {
        try await withStateDirectory { directory in
            let store = try StateStore(directory: directory)
            #expect(try store.readBlocking { db in try db.value("PRAGMA journal_mode", as: String.self) } == "wal")
            #expect(try store.readBlocking { db in try db.value("PRAGMA foreign_keys", as: Int.self) } == 1)
            // synchronous = NORMAL is 1.
            #expect(try store.withWriterBlocking { db in try db.value("PRAGMA synchronous", as: Int.self) } == 1)
            try await store.write { db in try db.execute("INSERT INTO blob_journal (blob) VALUES (?)", ["one"]) }
            let seen = try store.writeBlocking { db in
                try db.execute("INSERT INTO blob_journal (blob) VALUES (?)", ["two"])
                // Another connection, in its own snapshot: the uncommitted row is not there.
                return try store.readBlocking { reader in try reader.values("SELECT blob FROM blob_journal", as: String.self) }
            }
            #expect(seen == ["one"])
            #expect(try await store.read { db in try db.values("SELECT blob FROM blob_journal ORDER BY blob", as: String.self) } == ["one", "two"])
            try store.close()
        }
    }
}

private func zip4<A, B, C, D>(_ a: [A], _ b: [B], _ c: [C], _ d: [D]) -> [(A, B, C, D)] {
    (0..<min(a.count, b.count, c.count, d.count)).map { (a[$0], b[$0], c[$0], d[$0]) }
}
