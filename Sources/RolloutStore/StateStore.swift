import CSQLite
import Dispatch
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
/// As GRDB's `DatabasePool` did: one writer connection and a few reader connections that read in
/// WAL snapshots beside it, each owned by a serial dispatch queue (a ``Lane``) that alone uses
/// it. SQLite thus never runs on the cooperative thread pool, and work waiting for a connection
/// waits in its queue rather than holding a thread. The `async` methods enqueue; the blocking
/// ones are for callers already on a thread of their own (they wait with `DispatchQueue.sync`).
public final class StateStore: Sendable {
    /// The database file.
    public let path: String
    private let writer: Lane
    private let readers: [Lane]
    private let nextReader = Atomic<UInt>(0)
    /// How many reader connections (each opened on first use) serve reads. Two: reads are short
    /// index lookups, and each connection keeps its own schema and page cache.
    static let readerCount = 2

    /// Opens (creating when needed) the database in `directory`, created with mode 0700, and
    /// migrates it to the current schema.
    public init(directory: String) throws {
        do {
            try Directories.make(directory)
        } catch {
            throw StoreError("cannot create state directory \(error.path): \(SystemError.message(for: error.code))")
        }
        let path = directory.hasSuffix("/") ? directory + "state.sqlite" : directory + "/state.sqlite"
        self.path = path
        let connection = try Connection(path: path, create: true)
        guard try connection.value("PRAGMA journal_mode = WAL", as: String.self) == "wal" else {
            throw StoreError("cannot put \(path) in WAL mode")
        }
        try Self.migrate(connection)
        writer = Lane(label: "rolloutd.store.writer", connection: connection)
        readers = (0..<Self.readerCount).map { _ in
            Lane(label: "rolloutd.store.reader") {
                let reader = try Connection(path: path, create: false)
                try reader.execute("PRAGMA query_only = 1")
                return reader
            }
        }
    }

    /// Closes the database: the readers, then the writer, whose close checkpoints the WAL.
    public func close() throws {
        for reader in readers { try reader.close() }
        try writer.close()
    }

    // MARK: - Access

    /// Runs `body` with the writer, outside any transaction, blocking the calling thread (which
    /// must not be on the cooperative pool, nor already in `body` of the writer).
    func withWriterBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        try writer.sync(body)
    }

    /// Runs `body` in a write transaction (`BEGIN IMMEDIATE`), blocking the calling thread.
    func writeBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        try writer.sync { db in try db.transaction(.immediate) { try body(db) } }
    }

    /// Runs `body` in a read transaction on a reader connection, blocking the calling thread.
    func readBlocking<T>(_ body: (Connection) throws -> T) throws -> T {
        try reader().sync { db in try db.transaction(.deferred) { try body(db) } }
    }

    /// ``withWriterBlocking(_:)``, awaited.
    func withWriter<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await writer.run(body)
    }

    /// ``writeBlocking(_:)``, awaited.
    func write<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await writer.run { db in try db.transaction(.immediate) { try body(db) } }
    }

    /// ``readBlocking(_:)``, awaited.
    func read<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try await reader().run { db in try db.transaction(.deferred) { try body(db) } }
    }

    /// The next reader, round robin.
    private func reader() -> Lane {
        readers[Int(nextReader.wrappingAdd(1, ordering: .relaxed).oldValue % UInt(readers.count))]
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

/// A connection and the serial queue that alone uses it (opening it on first use).
final class Lane: @unchecked Sendable {
    // @unchecked: `connection` and `closed` are read and written only on `queue`.
    private let queue: DispatchQueue
    private let open: @Sendable () throws -> Connection
    private var connection: Connection?
    private var closed = false

    /// A lane that opens its connection with `open` when first used.
    init(label: String, open: @escaping @Sendable () throws -> Connection) {
        queue = DispatchQueue(label: label)
        self.open = open
    }

    /// A lane over `connection`, already open.
    convenience init(label: String, connection: Connection) {
        self.init(label: label) { connection }
    }

    /// Runs `body` on the queue and waits for it, blocking the calling thread.
    func sync<T>(_ body: (Connection) throws -> T) throws -> T {
        try queue.sync { try body(try current()) }
    }

    /// Runs `body` on the queue; a task cancelled before it is enqueued gets CancellationError,
    /// as GRDB's async access did.
    func run<T: Sendable>(_ body: @escaping @Sendable (Connection) throws -> T) async throws -> T {
        try Task.checkCancellation()
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try body(try self.current()) })
            }
        }
    }

    /// Closes the connection (if it was opened); later work fails.
    func close() throws {
        try queue.sync {
            closed = true
            defer { connection = nil }
            try connection?.close()
        }
    }

    private func current() throws -> Connection {
        if let connection { return connection }
        guard !closed else { throw StoreError("the state database is closed") }
        let opened = try open()
        connection = opened
        return opened
    }
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
