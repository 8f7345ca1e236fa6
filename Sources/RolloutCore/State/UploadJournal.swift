/// Where ``S3ObjectStore`` records multipart uploads it has started and not yet completed or
/// aborted, so uploads left by a crash can be aborted at startup
/// (``S3ObjectStore/abortOrphans(journal:)``). The daemon backs it with SQLite.
public protocol UploadJournal: Sendable {
    /// Records an upload; called before its first part is sent.
    func record(uploadId: String, key: String) async throws
    /// Forgets an upload once it completed or was aborted.
    func clear(uploadId: String) async throws
    /// Uploads recorded and not cleared, oldest first. `key` is the full S3 key (store prefix
    /// included).
    func pending() async throws -> [(uploadId: String, key: String)]
}

/// An ``UploadJournal`` in memory (tests, and a daemon without a state store).
public actor InMemoryUploadJournal: UploadJournal {
    private var entries: [(uploadId: String, key: String)] = []

    /// An empty journal.
    public init() {}

    /// Records an upload.
    public func record(uploadId: String, key: String) {
        entries.append((uploadId: uploadId, key: key))
    }

    /// Forgets an upload.
    public func clear(uploadId: String) {
        entries.removeAll { $0.uploadId == uploadId }
    }

    /// Uploads recorded and not cleared.
    public func pending() -> [(uploadId: String, key: String)] {
        entries
    }
}
