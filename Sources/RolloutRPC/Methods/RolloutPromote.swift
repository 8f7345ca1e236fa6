/// `rollout.promote`: jumps to 100% now.
public enum RolloutPromote: RPCMethod {
    public static let name = "rollout.promote"
    public static let isMutating = true
    public typealias Params = DeploymentIdParams
    public typealias Result = RolloutStatusResult
}
