/// `object.delete`.
public enum ObjectDelete: RPCMethod {
    public static let name = "object.delete"
    public static let isMutating = true

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The key.
        public var key: String

        /// Creates params.
        public init(key: String) {
            self.key = key
        }
    }

    /// `{key, deleted: true}`.
    public struct Result: Codable, Sendable, Hashable {
        /// The key.
        public var key: String
        /// Always true.
        public var deleted: Bool

        /// Creates a result.
        public init(key: String) {
            self.key = key
            self.deleted = true
        }
    }
}
