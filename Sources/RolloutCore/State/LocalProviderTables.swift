/// One row of the `local` provider's object index: a key and the blob file holding its body.
public struct IndexedObject: Sendable, Hashable {
    /// The object key.
    public var key: String
    /// The body's file name under `objects/`.
    public var blob: String
    /// Size in bytes.
    public var size: Int64
    /// Hex MD5 of the body.
    public var etag: String
    /// SPEC §4.2 content id.
    public var contentId: String
    /// Recorded `Content-Type`.
    public var contentType: String?
    /// User metadata.
    public var metadata: [String: String]
    /// Milliseconds since the epoch.
    public var lastModified: Int64

    /// Creates a row.
    public init(
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
}

/// The columns of an index row that `object.list` shows.
public struct IndexedObjectSummary: Sendable, Hashable {
    /// The object key.
    public var key: String
    /// Size in bytes.
    public var size: Int64
    /// Hex MD5 of the body.
    public var etag: String
    /// Milliseconds since the epoch.
    public var lastModified: Int64

    /// Creates a summary.
    public init(key: String, size: Int64, etag: String, lastModified: Int64) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// The `local` provider's object index and blob journal in the state database.
///
/// A blob that may exist on disk without an index row pointing at it (being written, or just
/// replaced or deleted) is journalled; ``collectBlobs(_:removing:)`` removes such blobs (through
/// the provider's `removing` closure, which deletes the files) and then their journal entries,
/// so a crash leaves no orphans behind after the next start.
///
/// The methods without `async` block the calling thread: call them from a blocking-I/O thread,
/// never from the cooperative pool.
public protocol LocalObjectIndex: Sendable {
    /// The row of `key`, if any (blocking).
    func lookup(_ key: String) throws -> IndexedObject?
    /// The row of `key`, if any.
    func object(_ key: String) async throws -> IndexedObject?
    /// Records that `blob` may appear on disk before anything references it (blocking).
    func journalBlob(_ blob: String) throws
    /// In one transaction (blocking): reads the current row of `object.key`, passes it to
    /// `check` (which throws to abort), stores `object`, drops its blob from the journal,
    /// journals the replaced blob, and finishes `record`. Returns the replaced blob.
    func swapIn(
        _ object: IndexedObject, check: (IndexedObject?) throws -> Void, finishing record: FinishRecord<Void>?
    ) throws -> String?
    /// Removes the row of `key` and journals its blob, finishing `record`, in one transaction;
    /// then collects the removed blob. An absent key is not an error.
    func remove(
        _ key: String, finishing record: FinishRecord<Void>?, removing: @escaping @Sendable (String) throws -> Void
    ) async throws
    /// Removes the journalled blobs among `blobs` (all of them when nil) that no row references
    /// — `removing` deletes a blob's files — then drops them from the journal (blocking).
    func collectBlobs(_ blobs: [String]?, removing: (String) throws -> Void) throws
    /// Rows with `key > after`, `key >= prefix` and (when given) `key < upperBound`, in byte
    /// order of the UTF-8 keys, at most `limit`.
    func list(after: String, prefix: String, upperBound: String?, limit: Int) async throws -> [IndexedObjectSummary]
}

/// One message of the `local` provider's queue as a receive takes it.
public struct TakenMessage: Sendable, Hashable {
    /// The message id.
    public var id: String
    /// The body.
    public var body: String
    /// The attributes.
    public var attributes: [String: String]
    /// The new receipt.
    public var receipt: String
    /// How many times it has been received, this time included.
    public var receiveCount: Int
    /// When it was sent (seconds since the epoch).
    public var sentAt: Double

    /// Creates a taken message.
    public init(id: String, body: String, attributes: [String: String], receipt: String, receiveCount: Int, sentAt: Double) {
        self.id = id
        self.body = body
        self.attributes = attributes
        self.receipt = receipt
        self.receiveCount = receiveCount
        self.sentAt = sentAt
    }
}

/// The `local` provider's messages and deduplication ids in the state database. Times are
/// seconds since the epoch, as the provider's clock gives them.
public protocol LocalMessageTable: Sendable {
    /// In one transaction: forgets deduplication ids older than `deduplicationWindow`, then
    /// inserts each message (`.success`) under its id in `ids` — or, for a deduplication id
    /// still remembered, returns the original message's id instead — and finishes `record`
    /// with the outcomes. Failed entries pass through unchanged.
    func insert(
        _ messages: [Result<OutgoingMessage, RolloutError>], ids: [String], now: Double, deduplicationWindow: Double,
        finishing record: FinishRecord<[Result<String, RolloutError>]>?
    ) async throws -> [Result<String, RolloutError>]
    /// In one transaction: takes up to `receipts.count` visible messages, oldest first,
    /// skipping message groups with a message in flight; each gets the next receipt of
    /// `receipts`, one more receive, and stays invisible `visibilitySeconds`. When none is
    /// visible, also returns when the next one becomes visible.
    func take(receipts: [String], visibilitySeconds: Int, now: Double) async throws -> (messages: [TakenMessage], nextVisibleAt: Double?)
    /// Deletes the messages received under `receipts`, in one transaction; whether each existed.
    func delete(receipts: [String]) async throws -> [Bool]
    /// Makes the message received under `receipt` visible at `visibleAt`; false when the
    /// receipt is unknown.
    func setVisibleAt(_ visibleAt: Double, receipt: String) async throws -> Bool
}

/// Everything the `local` provider keeps in the state database.
public protocol LocalProviderTables: LocalObjectIndex, LocalMessageTable {
    /// Copies the rows of the provider's own database of earlier versions (`root/local.sqlite`)
    /// into the state database in one transaction, rows already there winning (blocking).
    func importLegacyDatabase(at path: String) throws
}
