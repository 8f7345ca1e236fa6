/// `rollout.pause`: holds the next steps (alarms are still watched).
public enum RolloutPause: RPCMethod {
    public static let name = "rollout.pause"
    public typealias Params = DeploymentIdParams
    public typealias Result = RolloutStatusResult
}
