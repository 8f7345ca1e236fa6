public import RolloutCore

/// `rollout.plan`: the steps, checks and estimated length of a rollout; no side effects.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutPlan: RPCMethod {
    public static let name = "rollout.plan"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
