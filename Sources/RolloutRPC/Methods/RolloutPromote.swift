public import RolloutCore

/// `rollout.promote`: jump a deployment to 100% now.
///
/// Params and result are typed by the rollout engine (a later issue); until then they pass
/// through as JSON and the `local` provider answers Unsupported.
public enum RolloutPromote: RPCMethod {
    public static let name = "rollout.promote"
    public static let isMutating = true
    public typealias Params = JSONObject
    public typealias Result = JSONValue
}
