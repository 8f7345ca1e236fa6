public import RolloutCore

/// `rollout.get`: one deployment.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutGet: RPCMethod {
    public static let name = "rollout.get"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
