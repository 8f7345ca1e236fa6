public import RolloutCore

/// `rollout.get`: one deployment.
public enum RolloutGet: RPCMethod {
    public static let name = "rollout.get"
    public typealias Params = DeploymentIdParams
    public typealias Result = Deployment
}
