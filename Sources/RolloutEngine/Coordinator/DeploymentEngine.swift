public import RolloutCore

/// A command to a deployment (`rollout.stop`, `promote`, `pause`, `resume`). A value, so that a
/// daemon that does not drive the deployment can store it for the one that does
/// (``RolloutRecordStore/forward(_:to:)``).
public enum DeploymentCommand: String, Sendable, Hashable, Codable, CaseIterable {
    /// Roll back and end as `Stopped`.
    case stop
    /// The next step is the 100% step.
    case promote
    /// No new steps until resumed.
    case pause
    /// Steps again.
    case resume
}

/// One way of running deployments (SPEC §4.6): ``NativeRolloutEngine`` shifts the alias itself;
/// ``CodeDeployEngine`` has CodeDeploy do it. The ``RolloutCoordinator`` validates, preflights
/// and resolves conflicts for every engine, then hands each deployment to the engine its record
/// names.
///
/// An engine owns every task it starts (run loops, hooks, alarm polls, timers, polls for
/// waiters): ``shutdown()`` ends them and returns once they have ended.
public protocol DeploymentEngine: Sendable {
    /// The engine a record names.
    var kind: RolloutEngineKind { get }

    /// Checks what this engine alone requires of a request, before any AWS call;
    /// `starting` adds what it requires of a start (as opposed to a plan).
    func validate(_ request: RolloutRequest, starting: Bool) throws(RolloutError)

    /// The id of the deployment a keyed start that a killed daemon had begun already created
    /// (its record saved when it was missing); nil when that start created nothing.
    func startedBefore(_ call: IdempotentCall, request: RolloutRequest) async throws(RolloutError) -> String?

    /// Records and starts a deployment whose preflight passed; returns its id and status.
    /// A keyed start passes its `call`, from which what must be stable across retries is derived.
    func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, revisionId: String?, call: IdempotentCall?
    ) async throws(RolloutError) -> (deploymentId: String, status: DeploymentStatus)

    /// The deployment this engine is driving on `function`+`alias` in this process, if any,
    /// although its record may already show it ended.
    func activeDeployment(function: String, alias: String) async -> String?

    /// Whether a deployment whose record is not terminal still holds its alias.
    func isActive(_ record: RolloutRecord) async throws(RolloutError) -> Bool

    /// The deployment as `rollout.get` shows it.
    func deployment(for record: RolloutRecord) async throws(RolloutError) -> Deployment

    /// `rollout.wait`: the terminal deployment, calling `onEvent` for every event of its
    /// history. DeadlineExceeded with the current deployment in `data.deployment` past
    /// `timeoutSeconds` (nil: the engine's default); Unavailable when the engine shuts down.
    func wait(
        for record: RolloutRecord, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment

    /// Applies `command`; returns the status after it. Unsupported when the engine cannot.
    func apply(_ command: DeploymentCommand, to record: RolloutRecord) async throws(RolloutError) -> DeploymentStatus

    /// `rollout.reportHook`: the outcome of the hook execution `executionId`, for hooks that
    /// report asynchronously.
    func reportHook(succeeded: Bool, executionId: String?, for record: RolloutRecord) async throws(RolloutError)

    /// At startup: continues what a previous process left unfinished.
    func recover() async throws(RolloutError)

    /// Ends every task the engine started and returns once they have ended; records stay.
    func shutdown() async
}

extension RolloutError {
    /// Conflict: `deploymentId` is active on the alias (`data.activeDeploymentId`).
    static func activeDeployment(_ deploymentId: String, function: String, alias: String) -> RolloutError {
        RolloutError(
            .conflict,
            "deployment \(deploymentId) is active on \(function):\(alias); stop it or start with onConflict: \"rollback\"",
            data: ["activeDeploymentId": .string(deploymentId)]
        )
    }
}
