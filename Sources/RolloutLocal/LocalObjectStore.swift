public import RolloutCore
import GRDB
import RolloutSystem
import RolloutRPC
import RolloutStore

/// The `local` provider's ObjectStore (SPEC §5): bodies are files under `root/objects`, named
/// by random ids (see ``BlobDirectory``), indexed by key in the `objects` table of the state
/// database.
///
/// A body is written to a temp file, synced and renamed before the index row that points at
/// it is committed, so a reader never sees a partial object. File I/O runs on ``BlockingIO``
/// threads, SQLite on GRDB's own queues; neither blocks Swift's cooperative pool.
public final class LocalObjectStore: ObjectStore {
    let pool: DatabasePool
    let blobs: BlobDirectory
    let io: BlockingIO
    /// `multipart_chunk_bytes`: the chunk size of the content id.
    let chunkBytes: Int
    /// The largest object accepted.
    let maxObjectBytes: Int64

    /// Progress is reported at most once per this many bytes (plus a final report).
    static let progressInterval: Int64 = 1 << 20

    init(pool: DatabasePool, blobs: BlobDirectory, io: BlockingIO, chunkBytes: Int, maxObjectBytes: Int64) {
        self.pool = pool
        self.blobs = blobs
        self.io = io
        self.chunkBytes = chunkBytes
        self.maxObjectBytes = maxObjectBytes
    }

    /// Reads an object's metadata; NotFound when absent.
    public func head(key: String) async throws -> ObjectInfo {
        guard let stored = try await pool.read({ db in try StoredObject.find(key, in: db) }) else {
            throw Self.notFound(key)
        }
        return stored.info
    }

    /// Deletes an object: the index row first, then its body. An absent key is not an error.
    /// In a keyed `object.delete`, the idempotency record commits with the index row's removal.
    public func delete(key: String) async throws {
        let call = IdempotentCall.current(for: ObjectDelete.name)
        try await pool.writeWithoutTransaction { db in
            var removed: String?
            try db.inTransaction {
                removed = try String.fetchOne(db, sql: "SELECT blob FROM objects WHERE key = ?", arguments: [key])
                if let removed {
                    try db.execute(sql: "DELETE FROM objects WHERE key = ?", arguments: [key])
                    try BlobDirectory.journal(removed, in: db)
                }
                try call?.recordResult(ObjectDelete.Result(key: key), in: db)
                return .commit
            }
            if let removed {
                try self.blobs.collectGarbage([removed], in: db)
            }
        }
    }

    /// NotFound naming `key`.
    static func notFound(_ key: String) -> RolloutError {
        .notFound("object \"\(key)\" does not exist")
    }

    /// Whether an `ifMatch` etag, quoted as S3 shows it or bare, names `etag`.
    static func etag(_ given: String, matches etag: String) -> Bool {
        let bare = given.count >= 2 && given.hasPrefix("\"") && given.hasSuffix("\"") ? given.dropFirst().dropLast() : given[...]
        return bare == etag
    }
}
