public import RolloutCore

/// `rollout.list`: deployments, newest first.
public enum RolloutList: RPCMethod {
    public static let name = "rollout.list"

    /// Filters; all optional.
    public struct Params: Codable, Sendable, Hashable {
        /// Only this function.
        public var function: String?
        /// Only this alias.
        public var alias: String?
        /// Only this status.
        public var status: DeploymentStatus?

        /// Creates params.
        public init(function: String? = nil, alias: String? = nil, status: DeploymentStatus? = nil) {
            self.function = function
            self.alias = alias
            self.status = status
        }
    }

    /// `{deployments}`.
    public struct Result: Codable, Sendable, Hashable {
        /// Newest first.
        public var deployments: [Deployment]

        /// Creates a result.
        public init(deployments: [Deployment]) {
            self.deployments = deployments
        }
    }
}
