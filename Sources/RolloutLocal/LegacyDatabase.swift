import GRDB
import Glibc
import RolloutCore

/// The provider's own `root/local.sqlite` of earlier versions, before its tables moved into the
/// state database: imported once at startup, then renamed `local.sqlite.imported`.
enum LegacyDatabase {
    /// The tables it held, with their columns (the same in the state database).
    private static let tables: [(name: String, columns: String)] = [
        ("objects", "key, blob, size, etag, content_id, content_type, metadata, last_modified"),
        ("blob_journal", "blob"),
        ("messages", "id, body, attributes, group_id, sent_at, visible_at, receive_count, receipt"),
        ("message_dedup", "dedup_id, message_id, sent_at"),
    ]

    /// Copies the rows of `path` into `pool` in one transaction (rows already there win), then
    /// renames the file and its WAL files out of the way. Nothing to do when `path` is absent.
    ///
    /// A crash after the commit and before the rename imports again at the next start, which
    /// changes nothing: every table has a primary key and existing rows are kept.
    static func importIfPresent(_ path: String, into pool: DatabasePool) throws {
        guard access(path, F_OK) == 0 else { return }
        try pool.writeWithoutTransaction { db in
            try db.execute(sql: "ATTACH DATABASE ? AS legacy", arguments: [path])
            do {
                let present = try Set(String.fetchAll(db, sql: "SELECT name FROM legacy.sqlite_master WHERE type = 'table'"))
                try db.inTransaction {
                    for table in tables where present.contains(table.name) {
                        try db.execute(
                            sql: "INSERT OR IGNORE INTO main.\(table.name) (\(table.columns)) SELECT \(table.columns) FROM legacy.\(table.name)"
                        )
                    }
                    return .commit
                }
            } catch {
                try? db.execute(sql: "DETACH DATABASE legacy")
                throw error
            }
            try db.execute(sql: "DETACH DATABASE legacy")
        }
        // Detaching closed the file (checkpointing its WAL when it had one).
        for suffix in ["", "-wal", "-shm"] where access(path + suffix, F_OK) == 0 {
            guard rename(path + suffix, path + ".imported" + suffix) == 0 else {
                throw RolloutError(
                    .configInvalid, "[cloud.local].root: cannot rename '\(path + suffix)' after importing it: \(String(cString: strerror(errno)))"
                )
            }
        }
    }
}
