extension Configuration {
    /// `[fleet]`: fleet mode (SPEC §11), in which rollout state lives in a DynamoDB table shared
    /// by every daemon of the fleet, so that a deployment outlives the machine that started it.
    /// With backend `none` (the default) nothing changes and no DynamoDB call is made.
    public struct Fleet: Sendable, Hashable {
        /// Where the fleet's shared state lives.
        public enum Backend: String, Sendable, CaseIterable {
            /// No fleet: every daemon keeps its own deployments.
            case none
            /// A DynamoDB table (`table`).
            case dynamodb
        }

        /// `backend`: `"none"` or `"dynamodb"`. Default `"none"`.
        public var backend = Backend.none
        /// `table`: the DynamoDB table (partition key `pk`, sort key `sk`, both strings).
        /// Required when `backend = "dynamodb"`. Default: unset.
        public var table: String?
        /// `lease_secs`: how long a deployment's lease lasts without renewal; the owner renews
        /// every `lease_secs / 3`. Range 5...300. Default `15`.
        public var leaseSecs = 15
        /// `node_id`: this daemon's name in the fleet, shown in events and `sys.health`.
        /// Default: unset, which means `"<hostname>:<pid>:<random>"` (``defaultNodeID(hostname:pid:random:)``).
        public var nodeID: String?
        /// `endpoint_url`: the DynamoDB endpoint, highest precedence in endpoint resolution
        /// (service id `DYNAMODB`, SPEC §2.1). Default: unset.
        public var endpointURL: String?

        /// A `[fleet]` section with every key at its default.
        public init() {}

        /// Whether fleet mode is on.
        public var isEnabled: Bool { backend != .none }

        /// The node id used when `node_id` is not set: `"<hostname>:<pid>:<random>"`, so that
        /// a restarted daemon on the same machine is a new node (its leases are not its own).
        public static func defaultNodeID(hostname: String, pid: Int32, random: UInt32) -> String {
            let suffix = String(random, radix: 16)
            return "\(hostname):\(pid):\(String(repeating: "0", count: max(0, 8 - suffix.count)))\(suffix)"
        }
    }
}
