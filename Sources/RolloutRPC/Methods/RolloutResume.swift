public import RolloutCore

/// `rollout.resume`: resume a paused deployment.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutResume: RPCMethod {
    public static let name = "rollout.resume"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
