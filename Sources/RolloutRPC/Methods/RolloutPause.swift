public import RolloutCore

/// `rollout.pause`: pause a deployment's schedule.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutPause: RPCMethod {
    public static let name = "rollout.pause"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
