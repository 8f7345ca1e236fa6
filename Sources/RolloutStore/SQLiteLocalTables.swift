public import RolloutCore

/// The `local` provider's tables in the state database (SPEC §5): the object index and blob
/// journal (`objects`, `blob_journal`), the queue (`messages`, `message_dedup`). They live next
/// to the idempotency records so that a keyed effect and its record commit in one transaction
/// (SPEC §3.2, ``FinishRecord``).
public final class SQLiteLocalTables: LocalProviderTables {
    let store: StateStore

    /// The tables in `store`.
    public init(store: StateStore) {
        self.store = store
    }

    // MARK: - Objects

    /// See ``LocalObjectIndex/lookup(_:)``.
    public func lookup(_ key: String) throws -> IndexedObject? {
        try store.readBlocking { db in try Self.find(key, in: db) }
    }

    /// See ``LocalObjectIndex/object(_:)``.
    public func object(_ key: String) async throws -> IndexedObject? {
        try await store.read { db in try Self.find(key, in: db) }
    }

    /// See ``LocalObjectIndex/journalBlob(_:)``.
    public func journalBlob(_ blob: String) throws {
        try store.writeBlocking { db in try Self.journal(blob, in: db) }
    }

    /// See ``LocalObjectIndex/swapIn(_:check:finishing:)``.
    public func swapIn(
        _ object: IndexedObject, check: (IndexedObject?) throws -> Void, finishing record: FinishRecord<Void>?
    ) throws -> String? {
        try store.writeBlocking { db -> String? in
            let current = try Self.find(object.key, in: db)
            try check(current)
            try Self.save(object, in: db)
            try Self.forget(object.blob, in: db)
            if let current {
                try Self.journal(current.blob, in: db)
            }
            try record?.finish(with: (), in: db)
            return current?.blob
        }
    }

    /// See ``LocalObjectIndex/remove(_:finishing:removing:)``.
    public func remove(
        _ key: String, finishing record: FinishRecord<Void>?, removing: @escaping @Sendable (String) throws -> Void
    ) async throws {
        try await store.withWriter { db in
            let removed = try db.transaction { () throws -> String? in
                let removed = try db.value("SELECT blob FROM objects WHERE key = ?", [key], as: String.self)
                if let removed {
                    try db.execute("DELETE FROM objects WHERE key = ?", [key])
                    try Self.journal(removed, in: db)
                }
                try record?.finish(with: (), in: db)
                return removed
            }
            if let removed {
                try Self.collect([removed], removing: removing, in: db)
            }
        }
    }

    /// See ``LocalObjectIndex/collectBlobs(_:removing:)``.
    public func collectBlobs(_ blobs: [String]?, removing: (String) throws -> Void) throws {
        try store.writeBlocking { db in try Self.collect(blobs, removing: removing, in: db) }
    }

    /// See ``LocalObjectIndex/list(after:prefix:upperBound:limit:)``.
    public func list(after: String, prefix: String, upperBound: String?, limit: Int) async throws -> [IndexedObjectSummary] {
        try await store.read { db in
            // SQLite compares TEXT with memcmp: byte order of the UTF-8 keys.
            var sql = "SELECT key, size, etag, last_modified FROM objects WHERE key > ? AND key >= ?"
            var arguments: [any Bindable] = [after, prefix]
            if let upperBound {
                sql += " AND key < ?"
                arguments.append(upperBound)
            }
            sql += " ORDER BY key LIMIT ?"
            arguments.append(limit)
            return try db.rows(sql, arguments).map { row throws in
                try IndexedObjectSummary(key: row["key"], size: row["size"], etag: row["etag"], lastModified: row["last_modified"])
            }
        }
    }

    private static func find(_ key: String, in db: Connection) throws -> IndexedObject? {
        guard let row = try db.row("SELECT * FROM objects WHERE key = ?", [key]) else { return nil }
        return try IndexedObject(
            key: row["key"], blob: row["blob"], size: row["size"], etag: row["etag"], contentId: row["content_id"],
            contentType: row["content_type"],
            metadata: try StringMapColumn.decode(row["metadata"], column: "objects.metadata"),
            lastModified: row["last_modified"]
        )
    }

    private static func save(_ object: IndexedObject, in db: Connection) throws {
        try db.execute(
            """
                INSERT INTO objects (key, blob, size, etag, content_id, content_type, metadata, last_modified)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (key) DO UPDATE SET
                    blob = excluded.blob, size = excluded.size, etag = excluded.etag,
                    content_id = excluded.content_id, content_type = excluded.content_type,
                    metadata = excluded.metadata, last_modified = excluded.last_modified
                """,
            [
                object.key, object.blob, object.size, object.etag, object.contentId, object.contentType,
                StringMapColumn.encode(object.metadata), object.lastModified,
            ]
        )
    }

    private static func journal(_ blob: String, in db: Connection) throws {
        try db.execute("INSERT OR IGNORE INTO blob_journal (blob) VALUES (?)", [blob])
    }

    private static func forget(_ blob: String, in db: Connection) throws {
        try db.execute("DELETE FROM blob_journal WHERE blob = ?", [blob])
    }

    /// Removes the journalled blobs among `blobs` (all of them when nil) that no object
    /// references, files first, then their journal entries.
    private static func collect(_ blobs: [String]?, removing: (String) throws -> Void, in db: Connection) throws {
        let candidates = try blobs ?? db.values("SELECT blob FROM blob_journal", as: String.self)
        for blob in candidates {
            let referenced = try db.value("SELECT EXISTS (SELECT 1 FROM objects WHERE blob = ?)", [blob], as: Bool.self) ?? false
            if !referenced {
                try removing(blob)
            }
            try forget(blob, in: db)
        }
    }

    // MARK: - Messages

    /// See ``LocalMessageTable/insert(_:ids:now:deduplicationWindow:finishing:)``.
    public func insert(
        _ messages: [Result<OutgoingMessage, RolloutError>], ids: [String], now: Double, deduplicationWindow: Double,
        finishing record: FinishRecord<[Result<String, RolloutError>]>?
    ) async throws -> [Result<String, RolloutError>] {
        precondition(ids.count == messages.count, "one id per message")
        return try await store.write { db in
            try db.execute("DELETE FROM message_dedup WHERE sent_at <= ?", [now - deduplicationWindow])
            var results: [Result<String, RolloutError>] = []
            for (item, id) in zip(messages, ids) {
                switch item {
                case .success(let message): results.append(.success(try Self.insert(message, id: id, now: now, in: db)))
                case .failure(let error): results.append(.failure(error))
                }
            }
            try record?.finish(with: results, in: db)
            return results
        }
    }

    /// See ``LocalMessageTable/take(receipts:visibilitySeconds:now:)``.
    public func take(
        receipts: [String], visibilitySeconds: Int, now: Double
    ) async throws -> (messages: [TakenMessage], nextVisibleAt: Double?) {
        try await store.write { db in
            let rows = try db.rows(
                """
                    SELECT id, body, attributes, sent_at, receive_count FROM messages AS m
                    WHERE visible_at <= ?1
                      AND (group_id IS NULL OR NOT EXISTS (
                          SELECT 1 FROM messages AS g
                          WHERE g.group_id = m.group_id AND g.receipt IS NOT NULL AND g.visible_at > ?1))
                    ORDER BY sent_at, rowid
                    LIMIT ?2
                    """,
                [now, receipts.count]
            )
            var messages: [TakenMessage] = []
            for (row, receipt) in zip(rows, receipts) {
                let id: String = try row["id"]
                let receiveCount: Int = try row["receive_count"] + 1
                try db.execute(
                    "UPDATE messages SET visible_at = ?, receive_count = ?, receipt = ? WHERE id = ?",
                    [now + Double(visibilitySeconds), receiveCount, receipt, id]
                )
                messages.append(
                    try TakenMessage(
                        id: id, body: row["body"],
                        attributes: try StringMapColumn.decode(row["attributes"], column: "messages.attributes"),
                        receipt: receipt, receiveCount: receiveCount, sentAt: row["sent_at"]
                    )
                )
            }
            guard messages.isEmpty else { return (messages, nil) }
            let next = try db.value("SELECT MIN(visible_at) FROM messages WHERE visible_at > ?", [now], as: Double.self)
            return ([], next)
        }
    }

    /// See ``LocalMessageTable/delete(receipts:)``.
    public func delete(receipts: [String]) async throws -> [Bool] {
        try await store.write { db in
            try receipts.map { receipt in
                try db.execute("DELETE FROM messages WHERE receipt = ?", [receipt])
                return db.changes > 0
            }
        }
    }

    /// See ``LocalMessageTable/setVisibleAt(_:receipt:)``.
    public func setVisibleAt(_ visibleAt: Double, receipt: String) async throws -> Bool {
        try await store.write { db in
            try db.execute("UPDATE messages SET visible_at = ? WHERE receipt = ?", [visibleAt, receipt])
            return db.changes > 0
        }
    }

    /// Inserts `message` under `id`, or returns the id of the message sent with the same
    /// deduplication id inside the window.
    private static func insert(_ message: OutgoingMessage, id: String, now: Double, in db: Connection) throws -> String {
        if let deduplicationId = message.deduplicationId,
            let original = try db.value("SELECT message_id FROM message_dedup WHERE dedup_id = ?", [deduplicationId], as: String.self)
        {
            return original
        }
        try db.execute(
            """
                INSERT INTO messages (id, body, attributes, group_id, sent_at, visible_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            [
                id, message.body, StringMapColumn.encode(message.attributes ?? [:]), message.groupId, now,
                now + Double(message.delaySeconds ?? 0),
            ]
        )
        if let deduplicationId = message.deduplicationId {
            try db.execute(
                "INSERT INTO message_dedup (dedup_id, message_id, sent_at) VALUES (?, ?, ?)",
                [deduplicationId, id, now]
            )
        }
        return id
    }

    // MARK: - Import

    /// The tables the provider's own database of earlier versions held, with their columns
    /// (the same in the state database).
    private static let legacyTables: [(name: String, columns: String)] = [
        ("objects", "key, blob, size, etag, content_id, content_type, metadata, last_modified"),
        ("blob_journal", "blob"),
        ("messages", "id, body, attributes, group_id, sent_at, visible_at, receive_count, receipt"),
        ("message_dedup", "dedup_id, message_id, sent_at"),
    ]

    /// See ``LocalProviderTables/importLegacyDatabase(at:)``. Detaching closes the file
    /// (checkpointing its WAL when it had one), so the caller may rename it afterwards.
    public func importLegacyDatabase(at path: String) throws {
        try store.withWriterBlocking { db in
            try db.execute("ATTACH DATABASE ? AS legacy", [path])
            do {
                let present = try Set(db.values("SELECT name FROM legacy.sqlite_master WHERE type = 'table'", as: String.self))
                try db.transaction {
                    for table in Self.legacyTables where present.contains(table.name) {
                        try db.execute(
                            "INSERT OR IGNORE INTO main.\(table.name) (\(table.columns)) SELECT \(table.columns) FROM legacy.\(table.name)"
                        )
                    }
                }
            } catch {
                try? db.execute("DETACH DATABASE legacy")
                throw error
            }
            try db.execute("DETACH DATABASE legacy")
        }
    }
}
