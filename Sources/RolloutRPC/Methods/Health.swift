/// `sys.health`: status, version, provider and per-capability health.
public enum Health: RPCMethod {
    public static let name = "sys.health"
    public typealias Params = NoParams

    /// One capability's health.
    public struct Capability: Codable, Sendable, Hashable {
        /// Whether the last use (or probe) succeeded.
        public var ok: Bool
        /// The last error message, when not ok.
        public var lastError: String?
        /// A short description (bucket, queue URL, root directory, ...).
        public var detail: String?

        /// Creates a capability record.
        public init(ok: Bool, lastError: String? = nil, detail: String? = nil) {
            self.ok = ok
            self.lastError = lastError
            self.detail = detail
        }
    }

    /// Health of the five capabilities.
    public struct Capabilities: Codable, Sendable, Hashable {
        /// ObjectStore.
        public var objectStore: Capability
        /// Queue.
        public var queue: Capability
        /// SecretStore.
        public var secrets: Capability
        /// ComputeHint.
        public var compute: Capability
        /// Rollout.
        public var rollout: Capability
        /// Fleet mode (SPEC §11), when it is on.
        public var fleet: Fleet?

        /// Creates the record.
        public init(
            objectStore: Capability, queue: Capability, secrets: Capability, compute: Capability, rollout: Capability, fleet: Fleet? = nil
        ) {
            self.objectStore = objectStore
            self.queue = queue
            self.secrets = secrets
            self.compute = compute
            self.rollout = rollout
            self.fleet = fleet
        }
    }

    /// Fleet mode's health: the table, this node and the deployments it drives.
    public struct Fleet: Codable, Sendable, Hashable {
        /// Whether the last lease write and scan succeeded.
        public var ok: Bool
        /// The fleet table.
        public var detail: String
        /// This daemon's node id.
        public var nodeId: String
        /// Deployments whose lease this daemon holds.
        public var owned: Int
        /// Deployments this daemon adopted since it started.
        public var adopted: Int
        /// The last error of a lease write or scan.
        public var lastError: String?

        /// Creates the record.
        public init(ok: Bool, detail: String, nodeId: String, owned: Int, adopted: Int, lastError: String? = nil) {
            self.ok = ok
            self.detail = detail
            self.nodeId = nodeId
            self.owned = owned
            self.adopted = adopted
            self.lastError = lastError
        }
    }

    /// Where AWS credentials came from.
    public struct Credentials: Codable, Sendable, Hashable {
        /// `env`, `web-identity`, `profile`, `container`, `imds`.
        public var source: String
        /// RFC 3339 expiry of temporary credentials.
        public var expiresAt: String?

        /// Creates the record.
        public init(source: String, expiresAt: String?) {
            self.source = source
            self.expiresAt = expiresAt
        }
    }

    /// The health report.
    public struct Result: Codable, Sendable, Hashable {
        /// `ok` or `degraded`.
        public var status: String
        /// The daemon's version.
        public var version: String
        /// `aws` or `local`.
        public var provider: String
        /// Milliseconds since the daemon started.
        public var uptimeMs: Int64
        /// Per-capability health.
        public var capabilities: Capabilities
        /// AWS credentials in use.
        public var credentials: Credentials?

        /// Creates the report.
        public init(
            status: String, version: String, provider: String, uptimeMs: Int64, capabilities: Capabilities,
            credentials: Credentials?
        ) {
            self.status = status
            self.version = version
            self.provider = provider
            self.uptimeMs = uptimeMs
            self.capabilities = capabilities
            self.credentials = credentials
        }
    }
}
