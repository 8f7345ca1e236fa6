/// `rollout.stop`: stops it and rolls back (alias back on fromVersion, no additional weights).
public enum RolloutStop: RPCMethod {
    public static let name = "rollout.stop"
    public static let isMutating = true
    public typealias Params = DeploymentIdParams
    public typealias Result = RolloutStatusResult
}
