public import RolloutCore
import RolloutSystem

/// The multipart-upload journal in the state database (`upload_journal`): a row is written
/// before the first part and removed after completion or abort.
public struct SQLiteUploadJournal: UploadJournal {
    let store: StateStore
    /// The object store the uploads go to, e.g. `s3://bucket`.
    let storeName: String

    /// The uploads to `storeName` (e.g. `s3://bucket`) in `store`.
    public init(store: StateStore, storeName: String) {
        self.store = store
        self.storeName = storeName
    }

    /// See ``UploadJournal/record(uploadId:key:)``.
    public func record(uploadId: String, key: String) async throws {
        let storeName = storeName
        let now = WallClock.seconds()
        try await store.write("record upload") { db in
            try db.execute(
                "INSERT OR REPLACE INTO upload_journal (id, store, object_key, upload_id, created_at) VALUES (?, ?, ?, ?, ?)",
                [uploadId, storeName, key, uploadId, now]
            )
        }
    }

    /// See ``UploadJournal/clear(uploadId:)``.
    public func clear(uploadId: String) async throws {
        try await store.write("clear upload") { db in
            try db.execute("DELETE FROM upload_journal WHERE id = ?", [uploadId])
        }
    }

    /// See ``UploadJournal/pending()``.
    public func pending() async throws -> [(uploadId: String, key: String)] {
        let storeName = storeName
        let rows: [[String]] = try await store.read("read upload journal") { db in
            try db.rows("SELECT upload_id, object_key FROM upload_journal WHERE store = ? ORDER BY created_at, rowid", [storeName])
                .map { row throws in [try row["upload_id"], try row["object_key"]] }
        }
        return rows.map { ($0[0], $0[1]) }
    }
}

/// The `autoExtend` leases in the state database (`queue_leases`, SPEC §1, §4.3).
public struct SQLiteLeaseJournal: LeaseJournal {
    let store: StateStore

    /// The leases in `store`.
    public init(store: StateStore) {
        self.store = store
    }

    /// See ``LeaseJournal/record(_:)``.
    public func record(_ leases: [JournaledLease]) async throws {
        guard !leases.isEmpty else { return }
        try await store.write("journal leases") { db in
            for lease in leases {
                try db.execute(
                    """
                        INSERT OR REPLACE INTO queue_leases (receipt, queue, connection_id, visibility_secs, leased_until)
                        VALUES (?, ?, ?, ?, ?)
                        """,
                    // SQLite integers are signed 64-bit: the id's bits are stored as such.
                    [lease.receipt, lease.queue, Int64(bitPattern: lease.connectionID), lease.visibilitySeconds, lease.leasedUntil]
                )
            }
        }
    }

    /// See ``LeaseJournal/extended(receipt:leasedUntil:)``.
    public func extended(receipt: String, leasedUntil: Double) async throws {
        try await store.write("journal a lease extension") { db in
            try db.execute("UPDATE queue_leases SET leased_until = ? WHERE receipt = ?", [leasedUntil, receipt])
        }
    }

    /// See ``LeaseJournal/forget(receipts:)``.
    public func forget(receipts: [String]) async throws {
        guard !receipts.isEmpty else { return }
        try await store.write("forget leases") { db in
            for receipt in receipts {
                try db.execute("DELETE FROM queue_leases WHERE receipt = ?", [receipt])
            }
        }
    }

    /// See ``LeaseJournal/all()``.
    public func all() async throws -> [JournaledLease] {
        try await store.read("read leases") { db in
            try db.rows(
                "SELECT receipt, queue, connection_id, visibility_secs, leased_until FROM queue_leases ORDER BY leased_until, rowid"
            ).map { row throws in
                try JournaledLease(
                    receipt: row["receipt"], queue: row["queue"], connectionID: UInt64(bitPattern: row["connection_id"] as Int64),
                    visibilitySeconds: row["visibility_secs"], leasedUntil: row["leased_until"]
                )
            }
        }
    }
}
