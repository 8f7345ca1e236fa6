public import RolloutCore

/// `rollout.list`: deployments, newest first.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutList: RPCMethod {
    public static let name = "rollout.list"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
