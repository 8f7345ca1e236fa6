import GRDB
import RolloutSystem
import RolloutCore

/// The daemon's one SQLite database (`state.sqlite` in `state_dir`): WAL mode, schema
/// migrations, and the tables for idempotency records, upload journals, queue leases,
/// rollout state and the `local` provider's object index and queue.
///
/// This module is the only one that speaks SQL: the other modules reach the tables through the
/// ports of RolloutCore implemented here (``IdempotencyRecords``, ``SQLiteRolloutRows``,
/// ``SQLiteUploadJournal``, ``SQLiteLeaseJournal``, ``SQLiteLocalTables``). All access goes
/// through GRDB's `DatabasePool`, whose own dispatch queues run SQLite off the cooperative
/// thread pool.
public final class StateStore: Sendable {
    /// The pool. Only this module sees it: other modules reach the tables through the ports
    /// of RolloutCore that this module implements.
    let pool: DatabasePool
    /// The database file.
    public let path: String

    /// Opens (creating when needed) the database in `directory`, created with mode 0700, and
    /// migrates it to the current schema.
    public init(directory: String) throws {
        do {
            try Directories.make(directory)
        } catch {
            throw StoreError("cannot create state directory \(error.path): \(SystemError.message(for: error.code))")
        }
        path = directory.hasSuffix("/") ? directory + "state.sqlite" : directory + "/state.sqlite"
        var configuration = GRDB.Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        pool = try DatabasePool(path: path, configuration: configuration)
        try Self.migrator.migrate(pool)
    }

    /// Closes the database (checkpointing the WAL).
    public func close() throws {
        try pool.close()
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: idempotency, upload journal, leases") { db in
            try db.execute(
                sql: """
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
            )
        }
        migrator.registerMigration("v2: rollouts and their sent notifications") { db in
            try db.execute(
                sql: """
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
            )
        }
        migrator.registerMigration("v3: started idempotency records (outcome NULL)") { db in
            // SQLite cannot drop a NOT NULL constraint in place: the table is rebuilt.
            try db.execute(
                sql: """
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
            )
        }
        migrator.registerMigration("v4: local provider: objects, blob journal, messages, dedup") { db in
            // The `local` provider's data lives here, next to the idempotency records, so that an
            // effect and its record commit in one transaction (SPEC §3.2). Unused by provider `aws`.
            try db.execute(
                sql: """
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
            )
        }
        return migrator
    }
}

/// A store failure (I/O or SQLite), reported as an internal error by callers.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What failed.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension StateStore {
    /// Runs `body` in a read transaction; failures become InternalError naming `what`.
    func read<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(RolloutError) -> T {
        do {
            return try await pool.read(body)
        } catch let error as RolloutError {
            throw error
        } catch {
            throw RolloutError.internalError("\(what): state database read failed: \(error)")
        }
    }

    /// Runs `body` in a write transaction; failures become InternalError naming `what`.
    func write<T: Sendable>(_ what: String, _ body: @escaping @Sendable (Database) throws -> T) async throws(RolloutError) -> T {
        do {
            return try await pool.write(body)
        } catch let error as RolloutError {
            throw error
        } catch {
            throw RolloutError.internalError("\(what): state database write failed: \(error)")
        }
    }
}
