public import RolloutCore
import RolloutSystem
import RolloutRPC

/// The `local` provider's ObjectStore (SPEC §5): bodies are files under `root/objects`, named
/// by random ids (see ``BlobDirectory``), indexed by key in the state database
/// (``LocalObjectIndex``).
///
/// A body is written to a temp file, synced and renamed before the index row that points at
/// it is committed, so a reader never sees a partial object. File I/O runs on ``BlockingIO``
/// threads, and the index's blocking calls are made from those threads too; neither blocks
/// Swift's cooperative pool.
public final class LocalObjectStore: ObjectStore {
    let index: any LocalObjectIndex
    let blobs: BlobDirectory
    let io: BlockingIO
    /// `multipart_chunk_bytes`: the chunk size of the content id.
    let chunkBytes: Int
    /// The largest object accepted.
    let maxObjectBytes: Int64

    /// Progress is reported at most once per this many bytes (plus a final report).
    static let progressInterval: Int64 = 1 << 20

    init(index: any LocalObjectIndex, blobs: BlobDirectory, io: BlockingIO, chunkBytes: Int, maxObjectBytes: Int64) {
        self.index = index
        self.blobs = blobs
        self.io = io
        self.chunkBytes = chunkBytes
        self.maxObjectBytes = maxObjectBytes
    }

    /// Reads an object's metadata; NotFound when absent.
    public func head(key: String) async throws -> ObjectInfo {
        guard let stored = try await index.object(key) else {
            throw Self.notFound(key)
        }
        return stored.info
    }

    /// Deletes an object: the index row first, then its body. An absent key is not an error.
    /// In a keyed `object.delete`, the idempotency record commits with the index row's removal.
    public func delete(key: String) async throws {
        let record = FinishRecord<Void>.current(for: ObjectDelete.name) { ObjectDelete.Result(key: key) }
        let blobs = blobs
        try await index.remove(key, finishing: record, removing: { blob in try blobs.removeFiles(of: blob) })
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

extension IndexedObject {
    /// What `object.head` reports.
    var info: ObjectInfo {
        ObjectInfo(
            key: key, size: size, etag: etag, contentId: contentId, contentType: contentType, metadata: metadata,
            lastModified: RFC3339.format(milliseconds: lastModified)
        )
    }
}
