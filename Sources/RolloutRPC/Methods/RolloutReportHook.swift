public import RolloutCore

/// `rollout.reportHook`: the outcome of a hook that reports asynchronously (CodeDeploy engine:
/// `PutLifecycleEventHookExecutionStatus`).
public enum RolloutReportHook: RPCMethod {
    public static let name = "rollout.reportHook"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The deployment.
        public var deploymentId: String
        /// Which hook.
        public var hook: Hook
        /// `Succeeded` or `Failed`.
        public var status: HookStatus
        /// CodeDeploy's `LifecycleEventHookExecutionId` from the hook's payload.
        public var executionId: String?

        /// Creates params.
        public init(deploymentId: String, hook: Hook, status: HookStatus, executionId: String? = nil) {
            self.deploymentId = deploymentId
            self.hook = hook
            self.status = status
            self.executionId = executionId
        }
    }

    /// A hook's reported outcome.
    public enum HookStatus: String, Codable, Sendable, Hashable {
        /// The hook passed.
        case succeeded = "Succeeded"
        /// The hook failed: the deployment rolls back.
        case failed = "Failed"
    }

    public typealias Result = EmptyResult
}
