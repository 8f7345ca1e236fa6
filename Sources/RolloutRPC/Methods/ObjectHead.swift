public import RolloutCore

/// `object.head`: an object's metadata without its body.
public enum ObjectHead: RPCMethod {
    public static let name = "object.head"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The key.
        public var key: String

        /// Creates params.
        public init(key: String) {
            self.key = key
        }
    }

    public typealias Result = ObjectInfo
}
