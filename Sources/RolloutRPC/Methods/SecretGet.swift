public import RolloutCore

/// `secret.get`: an allowlisted secret, cached.
public enum SecretGet: RPCMethod {
    public static let name = "secret.get"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The secret's name, exactly as allowlisted.
        public var name: String
        /// `AWSCURRENT` (default) or `AWSPREVIOUS`.
        public var versionStage: String?
        /// Bypass the cache.
        public var refresh: Bool?

        /// Creates params.
        public init(name: String, versionStage: String? = nil, refresh: Bool? = nil) {
            self.name = name
            self.versionStage = versionStage
            self.refresh = refresh
        }
    }

    public typealias Result = SecretValue
}
