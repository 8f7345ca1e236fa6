import GRDB

/// The tables of `local.sqlite`: the object index and blob journal, the message queue and its
/// deduplication window.
enum LocalSchema {
    /// Every migration, in order.
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: objects, blob journal, messages, dedup") { db in
            try db.execute(
                sql: """
                    CREATE TABLE objects (
                        key TEXT PRIMARY KEY NOT NULL,
                        blob TEXT NOT NULL,             -- file name under objects/
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
