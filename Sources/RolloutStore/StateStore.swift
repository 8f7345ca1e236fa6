import CSQLite
import RolloutSystem
import RolloutCore
import Synchronization

/// The daemon's one SQLite database (`state.sqlite` in `state_dir`): WAL mode, schema
/// migrations, and the tables for idempotency records, upload journals, queue leases,
/// rollout state and the `local` provider's object index and queue.
///
/// This module is the only one that speaks SQL: the other modules reach the tables through the
/// ports of RolloutCore implemented here (``IdempotencyRecords``, ``SQLiteRolloutRows``,
/// ``SQLiteUploadJournal``, ``SQLiteLeaseJournal``, ``SQLiteLocalTables``).
///
/// One writer connection, used by one thread at a time under a mutex, and reader connections
/// (opened when every idle one is busy, at most ``idleReaders`` kept) that read in WAL snapshots
/// beside the writer. SQLite runs on the calling thread: the `async` methods hop to a
/// ``BlockingIO`` thread first, so it never runs on the cooperative thread pool; the blocking
/// ones are for callers already on such a thread.
public final class StateStore: Sendable {
    /// The database file.
    public let path: String
    /// The writer; nil once closed.
    private let writer: Mutex<Connection?>
    private let readers = Mutex(Readers())
    private let io = BlockingIO(label: "rolloutd.store")
    /// How many idle reader connections are kept open between reads.
    static let idleReaders = 2

    private struct Readers {
        var idle: [Connection] = []
        var closed = false
    }

    /// Opens (creating when needed) the database in `directory`, created with mode 0700, and
    /// migrates it to the current schema.
    public init(directory: String) throws {
        do {
            try Directories.make(directory)
        } catch {
            throw StoreError("cannot create state directory \(error.path): \(SystemError.message(for: error.code))")
        }
        path = directory.hasSuffix("/") ? directory + "state.sqlite" : directory + "/state.sqlite"
        let connection = try Connection(path: path, create: true)
        guard try connection.value("PRAGMA journal_mode = WAL", as: String.self) == "wal" else {
            throw StoreError("cannot put \(path) in WAL mode")
        }
        try Self.migrate(connection)
        writer = Mutex(connection)
    }

    /// Closes the database: the readers, then the writer, whose close checkpoints the WAL.
    public func close() throws {
        let idle = readers.withLock { readers in
            readers.closed = true
            defer { readers.idle = [] }
            return readers.idle
        }
        for reader in idle { try reader.close() }
        try writer.withLock { writer in
            try writer?.close()
            writer = nil
        }
    }

    // MARK: - Access

    /// Runs `body` with the writer, outside any transaction (blocking the calling thread, which
    /// must not be on the cooperative pool).
    func withWriterBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        try writer.withLock { writer throws -> T in
            guard let writer else { throw StoreError("\(path) is closed") }
            return try body(writer)
        }
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), blocking the calling thread.
    func writeBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        try withWriterBlocking { db in try db.transaction(.immediate) { try body(db) } }
    }

    /// Runs `body` in a read transaction on a reader connection, blocking the calling thread.
    func readBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        let reader = try takeReader()
        defer { giveBack(reader) }
        return try reader.transaction(.deferred) { try body(reader) }
    }

    /// ``withWriterBlocking(_:)`` on a blocking-I/O thread.
    func withWriter<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await io.run { _ in try self.withWriterBlocking(body) }
    }

    /// ``writeBlocking(_:)`` on a blocking-I/O thread.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await io.run { _ in try self.writeBlocking(body) }
    }

    /// ``readBlocking(_:)`` on a blocking-I/O thread.
    func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await io.run { _ in try self.readBlocking(body) }
    }

    private func takeReader() throws -> Connection {
        let idle = try readers.withLock { readers throws -> Connection? in
            guard !readers.closed else { throw StoreError("\(path) is closed") }
            return readers.idle.popLast()
        }
        if let idle { return idle }
        let reader = try Connection(path: path, create: false)
        try reader.execute("PRAGMA query_only = 1")
        return reader
    }

    private func giveBack(_ reader: Connection) {
        let keep = readers.withLock { readers in
            guard !readers.closed, readers.idle.count < Self.idleReaders else { return false }
            readers.idle.append(reader)
            return true
        }
        if !keep { try? reader.close() }
    }

    // MARK: - Migrations

    /// One schema change, applied once: its identifier is recorded in `grdb_migrations` (the
    /// table, and its identifiers, of the database library earlier versions used, so their
    /// files migrate unchanged).
    struct Migration {
        var identifier: String
        var sql: String

        init(_ identifier: String, _ sql: String) {
            self.identifier = identifier
            self.sql = sql
        }
    }

    /// Applies, in order, each migration `grdb_migrations` does not list, each in a transaction
    /// with its identifier. Identifiers this version does not know (a newer version's) are left alone.
    static func migrate(_ db: Connection) throws {
        try db.execute("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        let applied = Set(try db.values("SELECT identifier FROM grdb_migrations", as: String.self))
        for migration in migrations where !applied.contains(migration.identifier) {
            do {
                try db.transaction(.immediate) {
                    try db.executeScript(migration.sql)
                    try db.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", [migration.identifier])
                }
            } catch {
                throw StoreError("migration '\(migration.identifier)' failed: \(error)")
            }
        }
    }

    static let migrations: [Migration] = [
        Migration(
            "v1: idempotency, upload journal, leases",
            """
            CREATE TABLE idempotency (
                method TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint BLOB NOT NULL,
                outcome TEXT NOT NULL,          -- JSON: {"result": ...} or {"error": {...}}
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                PRIMARY KEY (method, key)
            );
            CREATE INDEX idempotency_expiry ON idempotency (expires_at);
            CREATE TABLE upload_journal (
                id TEXT PRIMARY KEY,
                store TEXT NOT NULL,            -- e.g. "s3://bucket"
                object_key TEXT NOT NULL,
                upload_id TEXT NOT NULL,
                created_at REAL NOT NULL
            );
            CREATE TABLE queue_leases (
                receipt TEXT PRIMARY KEY,
                queue TEXT NOT NULL,
                connection_id INTEGER NOT NULL,
                visibility_secs INTEGER NOT NULL,
                leased_until REAL NOT NULL
            );
            """
        ),
        Migration(
            "v2: rollouts and their sent notifications",
            """
            CREATE TABLE rollouts (
                id TEXT PRIMARY KEY,
                engine TEXT NOT NULL,
                function TEXT NOT NULL,
                alias TEXT NOT NULL,
                status TEXT NOT NULL,
                created_at REAL NOT NULL,
                record TEXT NOT NULL            -- JSON: RolloutRecord, snapshot included
            );
            CREATE INDEX rollouts_target ON rollouts (function, alias, created_at);
            CREATE INDEX rollouts_status ON rollouts (status, created_at);
            CREATE TABLE rollout_notifications (
                deployment_id TEXT NOT NULL,
                event TEXT NOT NULL,
                message_id TEXT NOT NULL,
                sent_at REAL NOT NULL,
                PRIMARY KEY (deployment_id, event)
            );
            """
        ),
        Migration(
            "v3: started idempotency records (outcome NULL)",
            // SQLite cannot drop a NOT NULL constraint in place: the table is rebuilt.
            """
            CREATE TABLE idempotency_v3 (
                method TEXT NOT NULL,
                key TEXT NOT NULL,
                fingerprint BLOB NOT NULL,
                outcome TEXT,                   -- JSON: {"result": ...} or {"error": {...}}; NULL while started
                created_at REAL NOT NULL,
                expires_at REAL NOT NULL,
                PRIMARY KEY (method, key)
            );
            INSERT INTO idempotency_v3 (method, key, fingerprint, outcome, created_at, expires_at)
                SELECT method, key, fingerprint, outcome, created_at, expires_at FROM idempotency;
            DROP TABLE idempotency;
            ALTER TABLE idempotency_v3 RENAME TO idempotency;
            CREATE INDEX idempotency_expiry ON idempotency (expires_at);
            """
        ),
        Migration(
            "v4: local provider: objects, blob journal, messages, dedup",
            // The `local` provider's data lives here, next to the idempotency records, so that an
            // effect and its record commit in one transaction (SPEC §3.2). Unused by provider `aws`.
            """
            CREATE TABLE objects (
                key TEXT PRIMARY KEY NOT NULL,
                blob TEXT NOT NULL,             -- file name under [cloud.local].root/objects
                size INTEGER NOT NULL,
                etag TEXT NOT NULL,             -- hex MD5
                content_id TEXT NOT NULL,       -- SPEC §4.2
                content_type TEXT,
                metadata TEXT NOT NULL,         -- JSON object of strings
                last_modified INTEGER NOT NULL  -- milliseconds since the epoch
            );
            CREATE INDEX objects_blob ON objects (blob);
            CREATE TABLE blob_journal (
                blob TEXT PRIMARY KEY NOT NULL  -- may be on disk without an objects row
            );
            CREATE TABLE messages (
                id TEXT PRIMARY KEY NOT NULL,
                body TEXT NOT NULL,
                attributes TEXT NOT NULL,       -- JSON object of strings
                group_id TEXT,
                sent_at REAL NOT NULL,          -- seconds since the epoch
                visible_at REAL NOT NULL,
                receive_count INTEGER NOT NULL DEFAULT 0,
                receipt TEXT UNIQUE             -- NULL until received
            );
            CREATE INDEX messages_visible ON messages (visible_at);
            CREATE INDEX messages_group ON messages (group_id) WHERE group_id IS NOT NULL;
            CREATE TABLE message_dedup (
                dedup_id TEXT PRIMARY KEY NOT NULL,
                message_id TEXT NOT NULL,
                sent_at REAL NOT NULL
            );
            CREATE INDEX message_dedup_age ON message_dedup (sent_at);
            """
        ),
    ]
}

/// A store failure (I/O or SQLite), reported as an internal error by callers.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var description: String
    /// The SQLite result code (extended), when SQLite reported the failure.
    let code: Int32?

    init(_ description: String) {
        self.description = description
        code = nil
    }

    /// A failure SQLite reported with `code` and `message` while doing `what`.
    init(_ what: String, code: Int32, message: String) {
        description = "\(what): \(message) (SQLite result code \(code))"
        self.code = code
    }
}

extension StateStore {
    /// Runs `body` in a read transaction; failures become InternalError naming `what`.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Connection) throws -> T) async throws(RolloutError) -> T {
        do {
            return try await read(body)
        } catch let error as RolloutError {
            throw error
        } catch {
            throw RolloutError.internalError("\(what): state database read failed: \(error)")
        }
    }

    /// Runs `body` in a write transaction; failures become InternalError naming `what`.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Connection) throws -> T) async throws(RolloutError) -> T {
        do {
            return try await write(body)
        } catch let error as RolloutError {
            throw error
        } catch {
            throw RolloutError.internalError("\(what): state database write failed: \(error)")
        }
    }
}
