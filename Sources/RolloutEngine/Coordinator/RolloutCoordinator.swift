public import RolloutCore

/// Rollouts (SPEC §4.6) for both engines: validates and preflights requests, resolves
/// conflicts on the alias, and routes each deployment to the ``DeploymentEngine`` its record
/// names (the native engine, or CodeDeploy when configured). What the `rollout.*` handlers call;
/// they only translate params and results.
public actor RolloutCoordinator {
    private let engines: [any DeploymentEngine]
    private let defaultEngine: RolloutEngineKind
    private let preflight: RolloutPreflight
    private let lambda: any LambdaControl
    private let store: any RolloutRecordStore
    /// `function\0alias` of starts under way: a second start for the same alias is a Conflict.
    private var starting: Set<String> = []

    /// Rollouts on `engines` (at most one of each kind), records in `store`.
    ///
    /// - Parameters:
    ///   - defaultEngine: the engine of a start that names none (`[cloud.aws.rollout].engine`).
    ///   - lambda: reads the alias for the preflight and publishes versions.
    ///   - alarms: reads the alarms the preflight checks.
    public init(
        engines: [any DeploymentEngine], defaultEngine: RolloutEngineKind, lambda: any LambdaControl, alarms: (any AlarmStateReader)?,
        store: any RolloutRecordStore
    ) {
        self.engines = engines
        self.defaultEngine = defaultEngine
        self.preflight = RolloutPreflight(lambda: lambda, alarms: alarms)
        self.lambda = lambda
        self.store = store
    }

    // MARK: - Lifecycle

    /// At startup: every engine continues what a previous process left unfinished.
    public func recover() async throws(RolloutError) {
        for engine in engines { try await engine.recover() }
    }

    /// Shuts every engine down; returns once every task they started has ended.
    public func shutdown() async {
        await withDiscardingTaskGroup { group in
            for engine in engines { group.addTask { await engine.shutdown() } }
        }
    }

    // MARK: - plan / start

    /// `rollout.plan`: the steps and the checks a start would make; no side effects.
    public func plan(_ request: RolloutRequest) async throws(RolloutError) -> RolloutPlan {
        try RolloutPreflight.validate(request)
        let steps = try request.strategy.steps()
        try engine(request.engine ?? defaultEngine).validate(request, starting: false)
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
        return RolloutPlan(steps: steps, checks: report.checks, estimatedSeconds: steps.last?.atSeconds ?? 0)
    }

    /// `rollout.start`: returns the deployment's id and status.
    ///
    /// - Parameter call: the keyed call this start runs for (SPEC §3.2), if any. When a killed
    ///   daemon had begun it (`resuming`), the deployment it created is looked up before
    ///   anything else (it would otherwise be this start's conflict) and answered.
    public func start(
        _ request: RolloutRequest, call: IdempotentCall?
    ) async throws(RolloutError) -> (deploymentId: String, status: DeploymentStatus) {
        try RolloutPreflight.validate(request)
        let engine = try engine(request.engine ?? defaultEngine)
        try engine.validate(request, starting: true)
        if let call, call.resuming, let deploymentId = try await engine.startedBefore(call, request: request) {
            return (deploymentId, try await deployment(deploymentId).status)
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
        return try await engine.start(request, fromVersion: fromVersion, toVersion: toVersion, revisionId: report.revisionId, call: call)
    }

    /// Applies `onConflict` when the alias has an active deployment of any engine.
    private func resolveConflict(_ request: RolloutRequest) async throws(RolloutError) {
        guard let active = try await activeDeployment(function: request.function, alias: request.alias) else { return }
        switch request.onConflict ?? .fail {
        case .fail:
            throw RolloutError.activeDeployment(active, function: request.function, alias: request.alias)
        case .rollback:
            _ = try await apply(.stop, to: active)
            let ended = try await wait(active, timeoutSeconds: 600) { _, _ in }
            guard ended.status.isTerminal else {
                throw RolloutError(.conflict, "deployment \(active) did not finish rolling back", data: ["activeDeploymentId": .string(active)])
            }
        }
    }

    private func activeDeployment(function: String, alias: String) async throws(RolloutError) -> String? {
        for engine in engines {
            if let id = await engine.activeDeployment(function: function, alias: alias) { return id }
        }
        let name = FunctionName.normalized(function)
        for record in try await store.active() where FunctionName.normalized(record.function) == name && record.alias == alias {
            // A deployment of an engine that is not configured (any more) cannot be asked.
            guard let engine = engines.first(where: { $0.kind == record.engine }) else { continue }
            if try await engine.isActive(record) { return record.deploymentId }
        }
        return nil
    }

    // MARK: - Queries and commands

    /// `rollout.get`. NotFound when no deployment has this id.
    public func deployment(_ deploymentId: String) async throws(RolloutError) -> Deployment {
        let record = try await record(deploymentId)
        var deployment = try await engine(record.engine).deployment(for: record)
        if !deployment.status.isTerminal { deployment.owner = await store.owners()[deploymentId] }
        return deployment
    }

    /// `rollout.wait`: see ``DeploymentEngine/wait(for:timeoutSeconds:onEvent:)``.
    public nonisolated func wait(
        _ deploymentId: String, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment {
        let (record, engine) = try await recordAndEngine(deploymentId)
        return try await engine.wait(for: record, timeoutSeconds: timeoutSeconds, onEvent: onEvent)
    }

    /// `rollout.stop`, `promote`, `pause`, `resume`: returns the status after the command.
    /// Idempotent by nature, also for a keyed command retried after a crash: the deployment is
    /// looked up first, and one that already ended answers its status.
    public func apply(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> DeploymentStatus {
        let record = try await record(deploymentId)
        let engine = try engine(record.engine)
        if try await store.forward(command, to: deploymentId) {
            // Applied (or stored) elsewhere: the record as it is now.
            return try await deployment(deploymentId).status
        }
        return try await engine.apply(command, to: record)
    }

    /// `rollout.list`: newest first, at most 100. Deployments of an engine this daemon does not
    /// run (fleet mode: another daemon of the fleet started a CodeDeploy one) are left out, as
    /// they cannot be asked; `rollout.get` names the configuration they need.
    public func list(function: String?, alias: String?, status: DeploymentStatus?) async throws(RolloutError) -> [Deployment] {
        var deployments: [Deployment] = []
        let owners = await store.owners()
        for record in try await store.list(function: function, alias: alias, status: status, limit: 100) {
            guard let engine = engines.first(where: { $0.kind == record.engine }) else { continue }
            var deployment = try await engine.deployment(for: record)
            if !deployment.status.isTerminal { deployment.owner = owners[record.deploymentId] }
            deployments.append(deployment)
        }
        return deployments
    }

    /// `rollout.reportHook`: see ``DeploymentEngine/reportHook(succeeded:executionId:for:)``.
    public func reportHook(_ deploymentId: String, succeeded: Bool, executionId: String?) async throws(RolloutError) {
        let record = try await record(deploymentId)
        try await engine(record.engine).reportHook(succeeded: succeeded, executionId: executionId, for: record)
    }

    // MARK: - Helpers

    private func recordAndEngine(_ deploymentId: String) async throws(RolloutError) -> (RolloutRecord, any DeploymentEngine) {
        let record = try await record(deploymentId)
        return (record, try engine(record.engine))
    }

    private func record(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord {
        guard let record = try await store.load(deploymentId) else {
            throw RolloutError.notFound("no deployment \(deploymentId)")
        }
        return record
    }

    private func engine(_ kind: RolloutEngineKind) throws(RolloutError) -> any DeploymentEngine {
        if let engine = engines.first(where: { $0.kind == kind }) { return engine }
        switch kind {
        case .codedeploy:
            throw RolloutError(
                .configInvalid,
                "engine \"codedeploy\" needs [cloud.aws.rollout] codedeploy_application and codedeploy_deployment_group and a region for CodeDeploy"
            )
        case .native:
            throw RolloutError.internalError("the native engine is not running")
        }
    }
}
