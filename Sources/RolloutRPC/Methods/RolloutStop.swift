public import RolloutCore

/// `rollout.stop`: stop a deployment and roll the alias back.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutStop: RPCMethod {
    public static let name = "rollout.stop"
    public static let isMutating = true
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
