public import RolloutCore

/// The `codedeploy` engine (SPEC §4.6): CodeDeploy shifts the alias and keeps the state; this
/// engine starts deployments through a ``CodeDeployControl`` (RolloutAWS implements it), keeps a
/// record beside each (the request CodeDeploy does not know), and polls for waiters.
public struct CodeDeployEngine: DeploymentEngine {
    /// `.codedeploy`.
    public var kind: RolloutEngineKind { .codedeploy }

    private let codeDeploy: any CodeDeployControl
    private let store: any RolloutRecordStore
    private let now: @Sendable () -> Double
    private let pollInterval: Duration
    private let rollbackFollowLimit: Duration
    /// The waiters' sleeps between polls, ended at shutdown.
    private let tasks = OwnedTasks()

    /// An engine over `codeDeploy`, keeping records in `store`. `now` is the wall clock (seconds
    /// since the epoch).
    ///
    /// - Parameters:
    ///   - pollInterval: between `GetDeployment` polls while a waiter waits (CodeDeploy has no push).
    ///   - rollbackFollowLimit: how long a wait follows the rollback deployment CodeDeploy starts
    ///     after a failed or stopped one, so that its answer says where the alias is.
    public init(
        codeDeploy: any CodeDeployControl, store: any RolloutRecordStore, now: @escaping @Sendable () -> Double,
        pollInterval: Duration = .seconds(5), rollbackFollowLimit: Duration = .seconds(120)
    ) {
        self.codeDeploy = codeDeploy
        self.store = store
        self.now = now
        self.pollInterval = pollInterval
        self.rollbackFollowLimit = rollbackFollowLimit
    }

    /// See ``DeploymentEngine/validate(_:starting:)``: CodeDeploy's own limits (whole minutes,
    /// integer percent); a start may not ask for notifications.
    public func validate(_ request: RolloutRequest, starting: Bool) throws(RolloutError) {
        try codeDeploy.checkStrategy(request.strategy)
        if starting, request.notifyTopicArn != nil {
            throw RolloutError.invalidParams(
                "param 'notifyTopicArn' works with the native engine only; CodeDeploy notifies through the deployment group's triggers"
            )
        }
    }

    /// See ``DeploymentEngine/startedBefore(_:request:)``: CodeDeploy chooses ids itself, so the
    /// deployment is found by the call's marker in its description; its record is saved here
    /// when the daemon died between `CreateDeployment` and saving it.
    public func startedBefore(_ call: IdempotentCall, request: RolloutRequest) async throws(RolloutError) -> String? {
        guard let found = try await codeDeploy.deployment(startedBy: call) else { return nil }
        if try await store.load(found.deploymentId) == nil {
            let record = RolloutRecord(
                deploymentId: found.deploymentId, engine: .codedeploy, request: request, fromVersion: found.fromVersion,
                toVersion: found.toVersion, createdAt: call.createdAt, status: .created
            )
            // Another deployment holds the alias now: the record is kept all the same, as this
            // call's answer names it.
            if try await store.create(record) != nil { try await store.save(record) }
        }
        return found.deploymentId
    }

    /// See ``DeploymentEngine/start(_:fromVersion:toVersion:revisionId:call:)``. The record is
    /// created after `CreateDeployment` (CodeDeploy chooses the id) with
    /// ``RolloutRecordStore/create(_:)``, which claims the alias (fleet-wide in fleet mode). A
    /// deployment that claimed it in between (after the preflight) makes this one a Conflict,
    /// and the CodeDeploy deployment just created is stopped (and rolled back).
    public func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, revisionId: String?, call: IdempotentCall?
    ) async throws(RolloutError) -> (deploymentId: String, status: DeploymentStatus) {
        let createdAt = now()
        if fromVersion == toVersion {
            // CodeDeploy refuses an AppSpec whose versions are equal; the deployment is a no-op.
            throw RolloutError(
                .preconditionFailed,
                "the alias is already on version \(toVersion); CodeDeploy cannot deploy a version onto itself (the native engine reports this as skipped)"
            )
        }
        let deploymentId = try await codeDeploy.start(request, fromVersion: fromVersion, toVersion: toVersion, call: call)
        let record = RolloutRecord(
            deploymentId: deploymentId, engine: .codedeploy, request: request, fromVersion: fromVersion, toVersion: toVersion,
            createdAt: createdAt, status: .created
        )
        if let active = try await store.create(record) {
            try? await codeDeploy.stop(deploymentId)
            throw RolloutError.activeDeployment(active, function: request.function, alias: request.alias)
        }
        let deployment = try await codeDeploy.deployment(deploymentId, record: record.codeDeployRecord)
        return (deploymentId, deployment.status)
    }

    /// See ``DeploymentEngine/activeDeployment(function:alias:)``: none; CodeDeploy runs them.
    public func activeDeployment(function: String, alias: String) async -> String? {
        nil
    }

    /// See ``DeploymentEngine/isActive(_:)``: asks CodeDeploy (and updates the record).
    public func isActive(_ record: RolloutRecord) async throws(RolloutError) -> Bool {
        !(try await deployment(for: record)).status.isTerminal
    }

    /// See ``DeploymentEngine/deployment(for:)``: `GetDeployment`, saving a changed status in the record.
    public func deployment(for record: RolloutRecord) async throws(RolloutError) -> Deployment {
        let deployment = try await codeDeploy.deployment(record.deploymentId, record: record.codeDeployRecord)
        if deployment.status != record.status {
            var updated = record
            updated.status = deployment.status
            try await store.save(updated)
        }
        return deployment
    }

    /// See ``DeploymentEngine/wait(for:timeoutSeconds:onEvent:)``: polls `GetDeployment` every
    /// poll interval, reporting new events. The default limit is the plan's length plus the hook
    /// timeouts plus ten minutes.
    public func wait(
        for record: RolloutRecord, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment {
        let steps = (try? record.request.strategy.steps()) ?? []
        let hooks = Hook.allCases.filter { record.request.hooks?.function(for: $0) != nil }.count
        let derived = Double((steps.last?.atSeconds ?? 0) + hooks * (record.request.hooks?.timeoutSeconds ?? 3600) + 600)
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64((timeoutSeconds ?? derived) * 1000)))
        var reported = 0
        var endedAt: ContinuousClock.Instant?
        while true {
            let current = try await deployment(for: record)
            for event in current.events.dropFirst(reported) { onEvent(event, current) }
            reported = max(reported, current.events.count)
            if current.status.isTerminal {
                // A stopped or failed CodeDeploy deployment is rolled back by a second deployment;
                // the wait follows it (up to the limit) so the answer says where the alias is.
                let rollbackPending = current.status != .succeeded && !current.rolledBack
                let since = endedAt ?? ContinuousClock.now
                endedAt = since
                if !rollbackPending || ContinuousClock.now - since > rollbackFollowLimit { return current }
            }
            if ContinuousClock.now >= deadline {
                throw RolloutError(
                    .deadlineExceeded, "deployment \(record.deploymentId) is still \(current.status.rawValue)",
                    data: ["deployment": (try? JSONValueEncoder().encode(current)) ?? .null]
                )
            }
            try await sleep(until: min(deadline, ContinuousClock.now.advanced(by: pollInterval)), waitingFor: record.deploymentId)
        }
    }

    /// Sleeps in a task of the engine, so that shutdown ends the wait (Unavailable); Cancelled
    /// when the waiter's own task is cancelled.
    private func sleep(until instant: ContinuousClock.Instant, waitingFor deploymentId: String) async throws(RolloutError) {
        let sleeper = tasks.spawn { try? await Task.sleep(until: instant, clock: .continuous) }
        if let sleeper {
            await withTaskCancellationHandler { await sleeper.value } onCancel: { sleeper.cancel() }
        }
        if Task.isCancelled { throw RolloutError.cancelled }
        if tasks.isShutDown {
            throw RolloutError(.unavailable, "the daemon is shutting down; CodeDeploy continues deployment \(deploymentId)")
        }
    }

    /// See ``DeploymentEngine/apply(_:to:)``: `stop` stops the deployment unless it ended (so a
    /// retried stop answers its status); CodeDeploy cannot promote, pause or resume.
    public func apply(_ command: DeploymentCommand, to record: RolloutRecord) async throws(RolloutError) -> DeploymentStatus {
        guard command == .stop else {
            throw RolloutError.unsupported(
                "CodeDeploy cannot \(command.rawValue) a Lambda deployment; only rollout.stop applies to deployment \(record.deploymentId)"
            )
        }
        if !(try await deployment(for: record)).status.isTerminal { try await codeDeploy.stop(record.deploymentId) }
        return try await deployment(for: record).status
    }

    /// See ``DeploymentEngine/reportHook(succeeded:executionId:for:)``:
    /// `PutLifecycleEventHookExecutionStatus`, which needs the hook's execution id.
    public func reportHook(succeeded: Bool, executionId: String?, for record: RolloutRecord) async throws(RolloutError) {
        guard let executionId, !executionId.isEmpty else {
            throw RolloutError.invalidParams(
                "param 'executionId' is required for CodeDeploy deployments: pass the LifecycleEventHookExecutionId the hook received"
            )
        }
        try await codeDeploy.reportHook(record.deploymentId, executionId: executionId, succeeded: succeeded)
    }

    /// See ``DeploymentEngine/recover()``: nothing; CodeDeploy kept running.
    public func recover() async throws(RolloutError) {}

    /// See ``DeploymentEngine/shutdown()``: ends the waiters' polls.
    public func shutdown() async {
        await tasks.shutdown()
    }
}

extension RolloutRecord {
    /// What CodeDeploy does not know about the deployment.
    var codeDeployRecord: CodeDeployRecord {
        CodeDeployRecord(
            function: function, alias: alias, fromVersion: fromVersion, toVersion: toVersion, strategy: request.strategy,
            startedAt: createdAt
        )
    }
}
