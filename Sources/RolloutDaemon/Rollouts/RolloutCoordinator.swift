#if AWS
import Logging
import RolloutAWS
import RolloutCore
import RolloutCrypto
import RolloutEngine
import RolloutRPC
import ServiceLifecycle

/// Provider `aws`'s rollouts: validates and preflights requests, resolves conflicts, and routes
/// each deployment to its engine (native, or CodeDeploy when configured).
actor RolloutCoordinator: RolloutService {
    private let native: NativeRolloutEngine
    private let preflight: RolloutPreflight
    private let lambda: any LambdaControl
    private let store: any RolloutRecordStore
    private let defaultEngine: RolloutEngineKind
    private let codeDeploy: CodeDeployRollouts?
    private let now: @Sendable () -> Double
    /// `function\0alias` of starts under way: a second start for the same alias is a Conflict.
    private var starting: Set<String> = []

    init(
        native: NativeRolloutEngine, lambda: any LambdaControl, alarms: (any AlarmStateReader)?,
        store: any RolloutRecordStore, defaultEngine: RolloutEngineKind, codeDeploy: CodeDeployRollouts?,
        now: @escaping @Sendable () -> Double
    ) {
        self.native = native
        self.preflight = RolloutPreflight(lambda: lambda, alarms: alarms)
        self.lambda = lambda
        self.store = store
        self.defaultEngine = defaultEngine
        self.codeDeploy = codeDeploy
        self.now = now
    }

    /// The native engine, for the lifecycle service.
    var nativeEngine: NativeRolloutEngine { native }

    // MARK: - plan / start

    func plan(_ request: RolloutRequest) async throws(RolloutError) -> RolloutCore.RolloutPlan {
        try RolloutPreflight.validate(request)
        let steps = try request.strategy.steps()
        if (request.engine ?? defaultEngine) == .codedeploy {
            _ = try requireCodeDeploy()
            _ = try DeploymentConfigChoice.choose(for: request.strategy)
        }
        var report = await preflight.report(for: request)
        if let active = try await activeDeployment(function: request.function, alias: request.alias) {
            let rollback = request.onConflict == .rollback
            report.checks.append(PlanCheck(
                name: "no active deployment", ok: rollback,
                detail: rollback
                    ? "deployment \(active) is active; start would stop and roll it back first"
                    : "deployment \(active) is active on this alias (onConflict: \"rollback\" would replace it)"
            ))
        } else {
            report.checks.append(PlanCheck(name: "no active deployment", ok: true, detail: "none"))
        }
        if let from = report.fromVersion, let to = report.toVersion, from == to {
            report.checks.append(PlanCheck(name: "target differs", ok: true, detail: "the alias is already on \(to): start would end at once as Succeeded (skipped)"))
        }
        return RolloutCore.RolloutPlan(steps: steps, checks: report.checks, estimatedSeconds: steps.last?.atSeconds ?? 0)
    }

    func start(_ request: RolloutRequest) async throws(RolloutError) -> RolloutStatusResult {
        try RolloutPreflight.validate(request)
        let engine = request.engine ?? defaultEngine
        let codeDeploy = engine == .codedeploy ? try requireCodeDeploy() : nil
        if codeDeploy != nil {
            // CodeDeploy's own limits (whole minutes, integer percent) are checked before anything else.
            _ = try DeploymentConfigChoice.choose(for: request.strategy)
        }
        if codeDeploy != nil, request.notifyTopicArn != nil {
            throw RolloutError.invalidParams(
                "param 'notifyTopicArn' works with the native engine only; CodeDeploy notifies through the deployment group's triggers"
            )
        }
        let call = IdempotentCall.current(for: RolloutStart.name)
        if let call, call.resuming, let started = try await startedBefore(call, request, codeDeploy: codeDeploy) {
            return started
        }
        let key = request.function + "\u{0}" + request.alias
        guard starting.insert(key).inserted else {
            throw RolloutError(.conflict, "another rollout.start for \(request.function):\(request.alias) is being processed")
        }
        defer { starting.remove(key) }
        try await resolveConflict(request)
        let report = await preflight.report(for: request)
        if let failure = report.firstFailure {
            throw RolloutError(
                .preconditionFailed, "preflight check '\(failure.name)' failed: \(failure.detail)",
                data: ["checks": (try? JSONValueEncoder().encode(report.checks)) ?? .null]
            )
        }
        guard let fromVersion = report.fromVersion else {
            throw RolloutError.internalError("the preflight passed without reading the alias")
        }
        let toVersion: String
        if request.publish == true {
            toVersion = try await lambda.publishVersion(function: request.function)
        } else if let target = report.toVersion {
            toVersion = target
        } else {
            throw RolloutError.internalError("no target version after the preflight")
        }
        if let codeDeploy {
            return try await startOnCodeDeploy(
                codeDeploy, request, fromVersion: fromVersion, toVersion: toVersion, marker: call.map(CodeDeployRollouts.marker(for:))
            )
        }
        let started = try await native.start(
            request, fromVersion: fromVersion, toVersion: toVersion, revisionId: report.revisionId,
            deploymentId: call.map(Self.deploymentId(for:))
        )
        return RolloutStatusResult(deploymentId: started.deploymentId, status: started.status)
    }

    /// The native deployment id of a keyed start, derived from the call (SPEC §3.2).
    static func deploymentId(for call: IdempotentCall) -> String {
        NativeRolloutEngine.deploymentId(from: Digest.sha256(call.identity))
    }

    /// The deployment a keyed start that a killed daemon had begun already created, looked up
    /// before anything else (it would otherwise be this start's conflict): on the native engine
    /// by the id derived from the key (the record is saved before the alias is touched, and
    /// the deployment resumed at startup); on CodeDeploy, which chooses ids itself, by the
    /// marker derived from the key in the deployment's description (its record is saved here
    /// when the daemon died between `CreateDeployment` and saving it). Nil: nothing was
    /// created, the start runs.
    private func startedBefore(
        _ call: IdempotentCall, _ request: RolloutRequest, codeDeploy: CodeDeployRollouts?
    ) async throws(RolloutError) -> RolloutStatusResult? {
        guard let codeDeploy else {
            let deploymentId = Self.deploymentId(for: call)
            guard try await store.load(deploymentId) != nil else { return nil }
            return RolloutStatusResult(deploymentId: deploymentId, status: try await deployment(deploymentId).status)
        }
        // A minute of slack for clocks: the record's time is ours, createTime is CodeDeploy's.
        guard let found = try await codeDeploy.deployment(marked: CodeDeployRollouts.marker(for: call), createdSince: call.createdAt - 60)
        else { return nil }
        if try await store.load(found.deploymentId) == nil {
            try await store.save(
                RolloutRecord(
                    deploymentId: found.deploymentId, engine: .codedeploy, request: request, fromVersion: found.fromVersion,
                    toVersion: found.toVersion, createdAt: call.createdAt, status: .created
                )
            )
        }
        return RolloutStatusResult(deploymentId: found.deploymentId, status: try await deployment(found.deploymentId).status)
    }

    private func startOnCodeDeploy(
        _ codeDeploy: CodeDeployRollouts, _ request: RolloutRequest, fromVersion: String, toVersion: String, marker: String?
    ) async throws(RolloutError) -> RolloutStatusResult {
        let createdAt = now()
        if fromVersion == toVersion {
            // CodeDeploy refuses an AppSpec whose versions are equal; the deployment is a no-op.
            throw RolloutError(
                .preconditionFailed,
                "the alias is already on version \(toVersion); CodeDeploy cannot deploy a version onto itself (the native engine reports this as skipped)"
            )
        }
        let deploymentId = try await codeDeploy.start(request, fromVersion: fromVersion, toVersion: toVersion, marker: marker)
        let record = RolloutRecord(
            deploymentId: deploymentId, engine: .codedeploy, request: request, fromVersion: fromVersion, toVersion: toVersion,
            createdAt: createdAt, status: .created
        )
        try await store.save(record)
        let deployment = try await codeDeploy.deployment(deploymentId, record: Self.codeDeployRecord(record))
        return RolloutStatusResult(deploymentId: deploymentId, status: deployment.status)
    }

    /// Applies `onConflict` when the alias has an active deployment of either engine.
    private func resolveConflict(_ request: RolloutRequest) async throws(RolloutError) {
        guard let active = try await activeDeployment(function: request.function, alias: request.alias) else { return }
        switch request.onConflict ?? .fail {
        case .fail:
            throw RolloutError(
                .conflict,
                "deployment \(active) is active on \(request.function):\(request.alias); stop it or start with onConflict: \"rollback\"",
                data: ["activeDeploymentId": .string(active)]
            )
        case .rollback:
            _ = try await stop(active)
            let ended = try await wait(active, timeoutSeconds: 600) { _, _ in }
            guard ended.status.isTerminal else {
                throw RolloutError(.conflict, "deployment \(active) did not finish rolling back", data: ["activeDeploymentId": .string(active)])
            }
        }
    }

    private func activeDeployment(function: String, alias: String) async throws(RolloutError) -> String? {
        if let id = await native.activeDeployment(function: function, alias: alias) { return id }
        for record in try await store.active() where record.function == function && record.alias == alias {
            if record.engine == .native { return record.deploymentId }
            if let codeDeploy, !(try await codeDeploy.deployment(record.deploymentId, record: Self.codeDeployRecord(record))).status.isTerminal {
                return record.deploymentId
            }
        }
        return nil
    }

    // MARK: - Queries and commands

    func deployment(_ deploymentId: String) async throws(RolloutError) -> Deployment {
        let record = try await record(deploymentId)
        return try await deployment(for: record)
    }

    private func deployment(for record: RolloutRecord) async throws(RolloutError) -> Deployment {
        switch record.engine {
        case .native:
            if let deployment = await native.deployment(for: record) { return deployment }
            throw RolloutError.internalError("deployment \(record.deploymentId) has no state")
        case .codedeploy:
            let deployment = try await requireCodeDeploy().deployment(record.deploymentId, record: Self.codeDeployRecord(record))
            if deployment.status != record.status {
                var updated = record
                updated.status = deployment.status
                try await store.save(updated)
            }
            return deployment
        }
    }

    nonisolated func wait(
        _ deploymentId: String, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment {
        let record = try await record(deploymentId)
        switch record.engine {
        case .native:
            return try await native.wait(deploymentId, timeoutSeconds: timeoutSeconds, onEvent: onEvent)
        case .codedeploy:
            return try await waitOnCodeDeploy(record, timeoutSeconds: timeoutSeconds, onEvent: onEvent)
        }
    }

    /// Polls `GetDeployment` every 5 s (CodeDeploy has no push), reporting new events.
    private func waitOnCodeDeploy(
        _ record: RolloutRecord, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
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
                // the wait follows it (up to two minutes) so the answer says where the alias is.
                let rollbackPending = current.status != .succeeded && !current.rolledBack
                let since = endedAt ?? ContinuousClock.now
                endedAt = since
                if !rollbackPending || ContinuousClock.now - since > .seconds(120) { return current }
            }
            if ContinuousClock.now >= deadline {
                throw RolloutError(
                    .deadlineExceeded, "deployment \(record.deploymentId) is still \(current.status.rawValue)",
                    data: ["deployment": (try? JSONValueEncoder().encode(current)) ?? .null]
                )
            }
            do {
                try await Task.sleep(until: min(deadline, ContinuousClock.now.advanced(by: .seconds(5))), clock: .continuous)
            } catch {
                throw RolloutError.cancelled
            }
        }
    }

    /// `rollout.stop`. Idempotent by nature, also for a keyed stop retried after a crash: the
    /// deployment is looked up first, and one that already ended answers its status.
    func stop(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult {
        let record = try await record(deploymentId)
        switch record.engine {
        case .native:
            return RolloutStatusResult(deploymentId: deploymentId, status: try await native.stop(deploymentId))
        case .codedeploy:
            let current = try await deployment(for: record)
            if !current.status.isTerminal { try await requireCodeDeploy().stop(deploymentId) }
            return RolloutStatusResult(deploymentId: deploymentId, status: try await deployment(for: record).status)
        }
    }

    /// `rollout.promote`. Idempotent by nature, also for a keyed promote retried after a
    /// crash: an ended deployment answers its status, and a promoted one ignores a second promote.
    func promote(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult {
        try await nativeOnly(deploymentId, "promote") { engine async throws(RolloutError) -> DeploymentStatus in
            try await engine.promote(deploymentId)
        }
    }

    func pause(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult {
        try await nativeOnly(deploymentId, "pause") { engine async throws(RolloutError) -> DeploymentStatus in
            try await engine.pause(deploymentId)
        }
    }

    func resume(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult {
        try await nativeOnly(deploymentId, "resume") { engine async throws(RolloutError) -> DeploymentStatus in
            try await engine.resume(deploymentId)
        }
    }

    private func nativeOnly(
        _ deploymentId: String, _ verb: String, _ body: (NativeRolloutEngine) async throws(RolloutError) -> DeploymentStatus
    ) async throws(RolloutError) -> RolloutStatusResult {
        let record = try await record(deploymentId)
        guard record.engine == .native else {
            throw RolloutError.unsupported("CodeDeploy cannot \(verb) a Lambda deployment; only rollout.stop applies to deployment \(deploymentId)")
        }
        return RolloutStatusResult(deploymentId: deploymentId, status: try await body(native))
    }

    func list(_ filter: RolloutList.Params) async throws(RolloutError) -> [Deployment] {
        var deployments: [Deployment] = []
        for record in try await store.list(function: filter.function, alias: filter.alias, status: filter.status, limit: 100) {
            deployments.append(try await deployment(for: record))
        }
        return deployments
    }

    func reportHook(_ params: RolloutReportHook.Params) async throws(RolloutError) {
        let record = try await record(params.deploymentId)
        guard record.engine == .codedeploy else {
            throw RolloutError(
                .preconditionFailed,
                "deployment \(params.deploymentId) runs on the native engine, whose hooks report through their return value (status \"Failed\" fails them)"
            )
        }
        guard let executionId = params.executionId, !executionId.isEmpty else {
            throw RolloutError.invalidParams("param 'executionId' is required for CodeDeploy deployments: pass the LifecycleEventHookExecutionId the hook received")
        }
        try await requireCodeDeploy().reportHook(params.deploymentId, executionId: executionId, status: params.status.rawValue)
    }

    // MARK: - Helpers

    private func record(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord {
        guard let record = try await store.load(deploymentId) else {
            throw RolloutError.notFound("no deployment \(deploymentId)")
        }
        return record
    }

    private func requireCodeDeploy() throws(RolloutError) -> CodeDeployRollouts {
        guard let codeDeploy else {
            throw RolloutError(
                .configInvalid,
                "engine \"codedeploy\" needs [cloud.aws.rollout] codedeploy_application and codedeploy_deployment_group and a region for CodeDeploy"
            )
        }
        return codeDeploy
    }

    static func codeDeployRecord(_ record: RolloutRecord) -> CodeDeployRecord {
        CodeDeployRecord(
            function: record.function, alias: record.alias, fromVersion: record.fromVersion, toVersion: record.toVersion,
            strategy: record.request.strategy, startedAt: record.createdAt
        )
    }
}

/// Runs the rollout engines inside the daemon's service group: resumes unfinished deployments
/// at startup and stops their run loops (records kept) at shutdown.
struct RolloutLifecycle: Service {
    let engine: NativeRolloutEngine
    let logger: Logger
    /// The most stopping the run loops may take; one that ignores cancellation is left behind
    /// (its record stays, and the next start reconciles the deployment).
    private static let shutdownTime: Duration = .seconds(1)

    func run() async throws {
        do {
            try await engine.recover()
        } catch {
            logger.error("cannot resume unfinished deployments", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
        let engine = self.engine
        await awaitAtMost(Self.shutdownTime) { await engine.shutdown() }
    }
}
#endif
