public import RolloutCore

/// `rollout.plan`: the steps and preflight checks `rollout.start` would use; no side effects.
public enum RolloutPlan: RPCMethod {
    public static let name = "rollout.plan"
    public static let ignoresIdempotencyKey = true
    public typealias Params = RolloutRequest
    public typealias Result = RolloutCore.RolloutPlan
}
