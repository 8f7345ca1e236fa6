/// What rolloutd keeps about a CodeDeploy deployment, next to its id, to describe it later:
/// CodeDeploy itself knows only the AppSpec, not the request that made it.
public struct CodeDeployRecord: Sendable, Hashable, Codable {
    /// Function name or ARN as given.
    public var function: String
    /// The alias moved.
    public var alias: String
    /// The version the alias was on.
    public var fromVersion: String
    /// The version the alias moves to.
    public var toVersion: String
    /// How traffic moves.
    public var strategy: Strategy
    /// When `rollout.start` created it, seconds since the epoch (used when CodeDeploy gives no `createTime`).
    public var startedAt: Double

    /// Creates a record.
    public init(function: String, alias: String, fromVersion: String, toVersion: String, strategy: Strategy, startedAt: Double) {
        self.function = function
        self.alias = alias
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.strategy = strategy
        self.startedAt = startedAt
    }
}

/// The CodeDeploy calls the `codedeploy` rollout engine makes (SPEC §4.6), implemented by
/// RolloutAWS over one application and deployment group. CodeDeploy keeps the deployment's
/// state and shifts the alias; the engine keeps a record beside it and asks for the rest.
public protocol CodeDeployControl: Sendable {
    /// Checks that `strategy` fits CodeDeploy (whole minutes, whole percentages, its quotas):
    /// InvalidParams naming the field otherwise. No AWS call.
    func checkStrategy(_ strategy: Strategy) throws(RolloutError)

    /// Creates a deployment moving `request.alias` from `fromVersion` to `toVersion` (resolving
    /// a conflict in the deployment group as `request.onConflict` says) and returns its id.
    /// A keyed start passes its `call`, so that ``deployment(startedBy:)`` finds the deployment
    /// again after a crash.
    func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, call: IdempotentCall?
    ) async throws(RolloutError) -> String

    /// The deployment a keyed start created (before a crash), with the versions it moves
    /// between; nil when that start created none.
    func deployment(
        startedBy call: IdempotentCall
    ) async throws(RolloutError) -> (deploymentId: String, fromVersion: String, toVersion: String)?

    /// The deployment `id` as `rollout.get` shows it; `record` says what CodeDeploy does not know.
    func deployment(_ id: String, record: CodeDeployRecord) async throws(RolloutError) -> Deployment

    /// Stops the deployment and rolls the alias back. PreconditionFailed when it already completed.
    func stop(_ id: String) async throws(RolloutError)

    /// Reports the outcome of the hook execution `executionId` (the
    /// `LifecycleEventHookExecutionId` CodeDeploy passed to the hook function).
    func reportHook(_ id: String, executionId: String, succeeded: Bool) async throws(RolloutError)
}
