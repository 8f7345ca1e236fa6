public import RolloutCore

/// `object.put`: store an object from inline data, text or a file in `file_roots`.
public enum ObjectPut: RPCMethod {
    public static let name = "object.put"
    public static let isMutating = true
    public static let reportsProgress = true

    /// Params; exactly one of `data`, `text`, `path`.
    public struct Params: Codable, Sendable, Hashable {
        /// The key, relative to the store's prefix.
        public var key: String
        /// Base64 bytes.
        public var data: String?
        /// UTF-8 text.
        public var text: String?
        /// A file inside `file_roots`, streamed.
        public var path: String?
        /// Content-Type to record.
        public var contentType: String?
        /// User metadata.
        public var metadata: [String: String]?
        /// `"*"`: create only when absent.
        public var ifNoneMatch: String?
        /// Replace only when the current etag matches.
        public var ifMatch: String?

        /// Creates params.
        public init(
            key: String, data: String? = nil, text: String? = nil, path: String? = nil, contentType: String? = nil,
            metadata: [String: String]? = nil, ifNoneMatch: String? = nil, ifMatch: String? = nil
        ) {
            self.key = key
            self.data = data
            self.text = text
            self.path = path
            self.contentType = contentType
            self.metadata = metadata
            self.ifNoneMatch = ifNoneMatch
            self.ifMatch = ifMatch
        }
    }

    public typealias Result = PutObjectResult
}
