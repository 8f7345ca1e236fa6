import GRDB

/// Where object bodies live: `objects/ab/abcdef…`, one file per stored body, named by a random
/// id with a two-character fan-out directory. Keys map to blobs through the `objects` table,
/// so keys longer than `NAME_MAX`, and both `a` and `a/b`, need nothing special on disk.
///
/// A blob that may exist on disk without an `objects` row pointing at it (being written, or
/// just replaced or deleted) is listed in `blob_journal`; ``collectGarbage(_:in:)`` removes
/// such blobs, so a crash leaves no orphans behind after the next start.
struct BlobDirectory: Sendable {
    /// `root/objects`.
    let path: String

    /// The fan-out directory of `blob`.
    func directory(of blob: String) -> String {
        FileSystem.join(path, String(blob.prefix(2)))
    }

    /// The final path of `blob`.
    func path(of blob: String) -> String {
        FileSystem.join(directory(of: blob), blob)
    }

    /// Where `blob` is written before it is renamed into place.
    func temporaryPath(of blob: String) -> String {
        path(of: blob) + ".tmp"
    }

    /// Records that `blob` may appear on disk before anything references it.
    static func journal(_ blob: String, in db: Database) throws {
        try db.execute(sql: "INSERT OR IGNORE INTO blob_journal (blob) VALUES (?)", arguments: [blob])
    }

    /// Drops `blob` from the journal: an object now references it, or it is gone.
    static func forget(_ blob: String, in db: Database) throws {
        try db.execute(sql: "DELETE FROM blob_journal WHERE blob = ?", arguments: [blob])
    }

    /// Removes the journalled blobs among `blobs` (all of them when nil) that no object
    /// references, files first, then their journal entries.
    func collectGarbage(_ blobs: [String]?, in db: Database) throws {
        let candidates = try blobs ?? String.fetchAll(db, sql: "SELECT blob FROM blob_journal")
        for blob in candidates {
            let referenced = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM objects WHERE blob = ?)", arguments: [blob]
            ) ?? false
            if !referenced {
                try FileSystem.remove(temporaryPath(of: blob))
                try FileSystem.remove(path(of: blob))
            }
            try Self.forget(blob, in: db)
        }
    }
}
