public import RolloutCore

/// `rollout.start`: start moving a Lambda alias to a target version (SPEC §4.6).
public enum RolloutStart: RPCMethod {
    public static let name = "rollout.start"
    public static let isMutating = true
    public typealias Params = RolloutRequest
    public typealias Result = RolloutStatusResult
}

/// `{deploymentId, status}`: the result of `rollout.start`, `stop`, `promote`, `pause`, `resume`.
public struct RolloutStatusResult: Codable, Sendable, Hashable {
    /// The deployment.
    public var deploymentId: String
    /// Its status after the command.
    public var status: DeploymentStatus

    /// Creates a result.
    public init(deploymentId: String, status: DeploymentStatus) {
        self.deploymentId = deploymentId
        self.status = status
    }
}

/// `{deploymentId}`: the params of the methods that name one deployment.
public struct DeploymentIdParams: Codable, Sendable, Hashable {
    /// The deployment.
    public var deploymentId: String

    /// Creates params.
    public init(deploymentId: String) {
        self.deploymentId = deploymentId
    }
}
