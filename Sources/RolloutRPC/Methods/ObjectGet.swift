public import RolloutCore

/// `object.get`: read an object inline (≤ 8 MiB) or stream it to a file in `file_roots`.
public enum ObjectGet: RPCMethod {
    public static let name = "object.get"
    public static let reportsProgress = true

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The key.
        public var key: String
        /// Write the body here (temp file + rename) instead of returning it.
        public var path: String?
        /// Inclusive byte range.
        public var range: ByteRange?
        /// Fail with PreconditionFailed unless the etag matches.
        public var ifMatch: String?

        /// Creates params.
        public init(key: String, path: String? = nil, range: ByteRange? = nil, ifMatch: String? = nil) {
            self.key = key
            self.path = path
            self.range = range
            self.ifMatch = ifMatch
        }
    }

    /// The object's metadata and, without `path`, its body.
    public struct Result: Codable, Sendable, Hashable {
        /// The key.
        public var key: String
        /// Bytes returned: the whole object, or the range's length.
        public var size: Int64
        /// The etag.
        public var etag: String
        /// The content id, when recorded.
        public var contentId: String?
        /// Content-Type.
        public var contentType: String?
        /// User metadata.
        public var metadata: [String: String]
        /// Last modification.
        public var lastModified: String?
        /// Base64 body (absent with `path`).
        public var data: String?

        /// Creates a result; `size` is the number of bytes returned (the range's length).
        public init(info: ObjectInfo, size: Int64, data: String?) {
            self.key = info.key
            self.size = size
            self.etag = info.etag
            self.contentId = info.contentId
            self.contentType = info.contentType
            self.metadata = info.metadata
            self.lastModified = info.lastModified
            self.data = data
        }
    }
}
