import GRDB
import RolloutCore

/// One row of the `objects` index.
struct StoredObject: FetchableRecord, Sendable {
    /// The object key.
    var key: String
    /// The body's file name under `objects/`.
    var blob: String
    /// Size in bytes.
    var size: Int64
    /// Hex MD5 of the body.
    var etag: String
    /// SPEC §4.2 content id.
    var contentId: String
    /// Recorded `Content-Type`.
    var contentType: String?
    /// User metadata.
    var metadata: [String: String]
    /// Milliseconds since the epoch.
    var lastModified: Int64

    /// Decodes a row of `SELECT * FROM objects`.
    init(row: Row) throws {
        key = row["key"]
        blob = row["blob"]
        size = row["size"]
        etag = row["etag"]
        contentId = row["content_id"]
        contentType = row["content_type"]
        metadata = try StringMapColumn.decode(row["metadata"], column: "objects.metadata")
        lastModified = row["last_modified"]
    }

    /// Creates a row for a freshly written body.
    init(
        key: String, blob: String, size: Int64, etag: String, contentId: String, contentType: String?,
        metadata: [String: String], lastModified: Int64
    ) {
        self.key = key
        self.blob = blob
        self.size = size
        self.etag = etag
        self.contentId = contentId
        self.contentType = contentType
        self.metadata = metadata
        self.lastModified = lastModified
    }

    /// The row for `key`, if any.
    static func find(_ key: String, in db: Database) throws -> StoredObject? {
        try fetchOne(db, sql: "SELECT * FROM objects WHERE key = ?", arguments: [key])
    }

    /// Inserts or replaces the row for ``key``.
    func save(in db: Database) throws {
        try db.execute(
            sql: """
                INSERT INTO objects (key, blob, size, etag, content_id, content_type, metadata, last_modified)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET
                    blob = excluded.blob, size = excluded.size, etag = excluded.etag,
                    content_id = excluded.content_id, content_type = excluded.content_type,
                    metadata = excluded.metadata, last_modified = excluded.last_modified
                """,
            arguments: [
                key, blob, size, etag, contentId, contentType, StringMapColumn.encode(metadata), lastModified,
            ]
        )
    }

    /// What `object.head` reports.
    var info: ObjectInfo {
        ObjectInfo(
            key: key, size: size, etag: etag, contentId: contentId, contentType: contentType, metadata: metadata,
            lastModified: WallClock.rfc3339(milliseconds: lastModified)
        )
    }
}
