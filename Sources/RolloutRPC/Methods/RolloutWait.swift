public import RolloutCore

/// `rollout.wait`: wait for a deployment to end, streaming its events.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutWait: RPCMethod {
    public static let name = "rollout.wait"
    public static let reportsProgress = true
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
