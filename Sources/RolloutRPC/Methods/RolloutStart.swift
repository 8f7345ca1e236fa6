public import RolloutCore

/// `rollout.start`: start moving a Lambda alias to a target version.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutStart: RPCMethod {
    public static let name = "rollout.start"
    public static let isMutating = true
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
