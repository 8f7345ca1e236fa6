public import RolloutSystem

/// Where the bytes of an `object.put` come from.
public enum ObjectSource: Sendable {
    /// Inline bytes (`data` decoded from base64, or `text` as UTF-8).
    case bytes([UInt8])
    /// A regular file inside `file_roots`, already opened beneath its root; streamed, never
    /// loaded whole, and never opened again by name.
    case file(ReadableFile)
}

/// Where the body of an `object.get` goes.
public enum ObjectDestination: Sendable {
    /// Returned inline; bodies over `limit` bytes fail with TooLarge.
    case memory(limit: Int64)
    /// Streamed to a temp file created in the target's directory (opened beneath its root),
    /// then renamed onto the target's name in that same directory.
    case file(FileTarget)
}

/// An inclusive byte range, as HTTP `Range: bytes=start-end`.
public struct ByteRange: Sendable, Hashable, Codable {
    /// First byte, zero-based.
    public var start: Int64
    /// Last byte, inclusive.
    public var end: Int64

    /// Creates a range.
    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }
}

/// `object.put` as the capability sees it.
public struct PutObjectRequest: Sendable {
    /// The validated key, relative to the store's prefix or root.
    public var key: String
    /// The bytes to store.
    public var source: ObjectSource
    /// `Content-Type` to record.
    public var contentType: String?
    /// User metadata.
    public var metadata: [String: String]
    /// `ifNoneMatch: "*"`: create only when absent.
    public var ifNoneMatch: Bool
    /// `ifMatch`: replace only when the current etag matches.
    public var ifMatch: String?

    /// Creates a request.
    public init(
        key: String, source: ObjectSource, contentType: String? = nil, metadata: [String: String] = [:],
        ifNoneMatch: Bool = false, ifMatch: String? = nil
    ) {
        self.key = key
        self.source = source
        self.contentType = contentType
        self.metadata = metadata
        self.ifNoneMatch = ifNoneMatch
        self.ifMatch = ifMatch
    }
}

/// The result of `object.put`.
public struct PutObjectResult: Sendable, Hashable, Codable {
    /// The key written.
    public var key: String
    /// Bytes stored.
    public var size: Int64
    /// The store's etag (hex MD5 for single-part uploads).
    public var etag: String
    /// Chunked SHA-256 content id (SPEC §4.2).
    public var contentId: String
    /// Number of parts uploaded (1 for a single-part upload).
    public var parts: Int

    /// Creates a result.
    public init(key: String, size: Int64, etag: String, contentId: String, parts: Int) {
        self.key = key
        self.size = size
        self.etag = etag
        self.contentId = contentId
        self.parts = parts
    }
}

/// What `object.head` and `object.get` report about an object.
public struct ObjectInfo: Sendable, Hashable, Codable {
    /// The key.
    public var key: String
    /// Size in bytes of the whole object.
    public var size: Int64
    /// The store's etag.
    public var etag: String
    /// The content id recorded at upload, when there is one.
    public var contentId: String?
    /// `Content-Type`, when recorded.
    public var contentType: String?
    /// User metadata (without the internal `content-id`).
    public var metadata: [String: String]
    /// Last modification, RFC 3339 UTC.
    public var lastModified: String?

    /// Creates an info record.
    public init(
        key: String, size: Int64, etag: String, contentId: String?, contentType: String?,
        metadata: [String: String], lastModified: String?
    ) {
        self.key = key
        self.size = size
        self.etag = etag
        self.contentId = contentId
        self.contentType = contentType
        self.metadata = metadata
        self.lastModified = lastModified
    }
}

/// `object.get` as the capability sees it.
public struct GetObjectRequest: Sendable {
    /// The validated key.
    public var key: String
    /// Only this range of bytes.
    public var range: ByteRange?
    /// Fail with PreconditionFailed unless the etag matches.
    public var ifMatch: String?
    /// Where the body goes.
    public var destination: ObjectDestination

    /// Creates a request.
    public init(key: String, range: ByteRange? = nil, ifMatch: String? = nil, destination: ObjectDestination) {
        self.key = key
        self.range = range
        self.ifMatch = ifMatch
        self.destination = destination
    }
}

/// The result of `object.get`.
public struct GetObjectResult: Sendable {
    /// The object's metadata.
    public var info: ObjectInfo
    /// The body, for `.memory` destinations.
    public var data: [UInt8]?

    /// Creates a result.
    public init(info: ObjectInfo, data: [UInt8]?) {
        self.info = info
        self.data = data
    }
}

/// One entry of `object.list`.
public struct ObjectSummary: Sendable, Hashable, Codable {
    /// The key.
    public var key: String
    /// Size in bytes.
    public var size: Int64
    /// The etag.
    public var etag: String
    /// RFC 3339 UTC.
    public var lastModified: String

    /// Creates a summary.
    public init(key: String, size: Int64, etag: String, lastModified: String) {
        self.key = key
        self.size = size
        self.etag = etag
        self.lastModified = lastModified
    }
}

/// A page of `object.list`.
public struct ObjectListing: Sendable, Hashable, Codable {
    /// Objects in key order.
    public var objects: [ObjectSummary]
    /// Pass back to get the next page; absent on the last page.
    public var cursor: String?

    /// Creates a page.
    public init(objects: [ObjectSummary], cursor: String?) {
        self.objects = objects
        self.cursor = cursor
    }
}

/// The ObjectStore capability (S3, or files for the `local` provider).
public protocol ObjectStore: Sendable {
    /// Stores an object; large ones go up in parts. Throws TooLarge before writing anything
    /// when the source is over the configured limit.
    func put(_ request: PutObjectRequest, progress: ProgressReporter) async throws -> PutObjectResult
    /// Reads an object into memory or a file.
    func get(_ request: GetObjectRequest, progress: ProgressReporter) async throws -> GetObjectResult
    /// Reads an object's metadata; NotFound when absent.
    func head(key: String) async throws -> ObjectInfo
    /// Deletes an object (absent objects delete successfully, as S3 does).
    func delete(key: String) async throws
    /// Lists objects under `prefix`, `limit` at a time.
    func list(prefix: String?, cursor: String?, limit: Int) async throws -> ObjectListing
}
