public import RolloutCore

/// `object.list`: keys under a prefix, a page at a time.
public enum ObjectList: RPCMethod {
    public static let name = "object.list"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// Only keys starting with this.
        public var prefix: String?
        /// From a previous page.
        public var cursor: String?
        /// 1–1000, default 1000.
        public var limit: Int?

        /// Creates params.
        public init(prefix: String? = nil, cursor: String? = nil, limit: Int? = nil) {
            self.prefix = prefix
            self.cursor = cursor
            self.limit = limit
        }
    }

    public typealias Result = ObjectListing
}
