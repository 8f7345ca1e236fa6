public import RolloutCore

/// `rollout.reportHook`: report an asynchronous hook's outcome.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutReportHook: RPCMethod {
    public static let name = "rollout.reportHook"
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
