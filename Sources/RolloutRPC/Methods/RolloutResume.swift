/// `rollout.resume`: continues a paused deployment.
public enum RolloutResume: RPCMethod {
    public static let name = "rollout.resume"
    public typealias Params = DeploymentIdParams
    public typealias Result = RolloutStatusResult
}
