public import RolloutCore

/// `rollout.wait`: the terminal deployment, with `$/progress` per event; DeadlineExceeded with
/// `data.deployment` when `timeoutSeconds` (default: derived from the plan) passes first.
public enum RolloutWait: RPCMethod {
    public static let name = "rollout.wait"
    public static let reportsProgress = true

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The deployment.
        public var deploymentId: String
        /// How long to wait; default: plan length + hook timeouts + margin.
        public var timeoutSeconds: Double?

        /// Creates params.
        public init(deploymentId: String, timeoutSeconds: Double? = nil) {
            self.deploymentId = deploymentId
            self.timeoutSeconds = timeoutSeconds
        }
    }

    public typealias Result = Deployment
}
