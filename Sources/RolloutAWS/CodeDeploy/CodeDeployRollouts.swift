public import RolloutCore
import RolloutCrypto

/// The `codedeploy` rollout engine (SPEC §4.6): CodeDeploy shifts the alias; rolloutd builds
/// the AppSpec, picks or creates the deployment config, starts, describes, stops and reports
/// hooks for deployments in one application and deployment group.
///
/// - Conflicts are found with `ListDeployments` (statuses Created, Queued, InProgress, Ready,
///   Baking), never by parsing `DeploymentLimitExceededException`'s message.
/// - Every deployment overrides the group's auto-rollback with all three events, so a failed,
///   alarmed or stopped deployment puts the alias back on the old version; ``stop(_:)`` uses
///   `StopDeployment(autoRollbackEnabled: true)`, as stopping without a rollback can leave the
///   alias split (AWS troubleshooting guide).
public struct CodeDeployRollouts: Sendable {
    /// The statuses of a deployment that still holds the group.
    public static let activeStatuses = ["Created", "Queued", "InProgress", "Ready", "Baking"]
    /// The auto-rollback events every deployment is created with.
    public static let autoRollbackEvents = ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]
    /// CodeDeploy's limit on alarms per deployment.
    public static let maxAlarms = 10

    /// The typed CodeDeploy calls.
    public let codeDeploy: CodeDeployClient
    /// The CodeDeploy application (compute platform Lambda).
    public let application: String
    /// The deployment group (`BLUE_GREEN`, `WITH_TRAFFIC_CONTROL`).
    public let deploymentGroup: String
    private let pollInterval: Duration
    private let rollbackWaitLimit: Duration
    private let sleep: @Sendable (Duration) async throws -> Void

    /// An engine for `application` / `deploymentGroup` through `client` (a CodeDeploy client).
    ///
    /// - Parameters:
    ///   - pollInterval: between `GetDeployment` polls while `onConflict = "rollback"` waits for
    ///     the active deployment to stop and roll back.
    ///   - rollbackWaitLimit: how long that wait may take, counted in poll intervals, before it
    ///     fails with DeadlineExceeded.
    ///   - sleep: waits one poll interval (tests pass one that returns at once).
    public init(
        client: AWSClient,
        application: String,
        deploymentGroup: String,
        pollInterval: Duration = .seconds(5),
        rollbackWaitLimit: Duration = .seconds(1800),
        sleep: @escaping @Sendable (Duration) async throws -> Void = { try await Task.sleep(for: $0) }
    ) {
        self.codeDeploy = CodeDeployClient(client: client)
        self.application = application
        self.deploymentGroup = deploymentGroup
        self.pollInterval = pollInterval
        self.rollbackWaitLimit = rollbackWaitLimit
        self.sleep = sleep
    }

    // MARK: Start

    /// The ids of the group's deployments in an active status, across all pages.
    public func activeDeploymentIds() async throws(RolloutError) -> [String] {
        var ids: [String] = []
        var token: String?
        repeat {
            let page = try await codeDeploy.listDeployments(
                applicationName: application, deploymentGroupName: deploymentGroup,
                includeOnlyStatuses: Self.activeStatuses, nextToken: token
            )
            ids.append(contentsOf: page.deploymentIds.filter { !ids.contains($0) })
            token = page.nextToken
        } while token != nil
        return ids
    }

    /// Starts a deployment moving `request.alias` from `fromVersion` to `toVersion` and
    /// returns CodeDeploy's deployment id.
    ///
    /// 1. The AppSpec and the config are checked first (InvalidParams, PreconditionFailed),
    ///    before anything is changed.
    /// 2. An active deployment in the group: Conflict with `data.activeDeploymentId` under
    ///    `onConflict = "fail"` (the default); under `"rollback"` each one is stopped with a
    ///    rollback (CodeDeploy's own rollback deployments are left to finish), and `GetDeployment`
    ///    is polled until all are terminal and the group has no active deployment left.
    /// 3. A custom config is created unless it exists (`DeploymentConfigAlreadyExistsException`
    ///    from a concurrent start is fine); one that exists with another traffic routing is
    ///    PreconditionFailed.
    /// 4. `CreateDeployment` with the AppSpec, every auto-rollback event and `request.alarms`
    ///    (at most 10) as the alarm configuration.
    ///
    /// - Parameter marker: put at the start of the deployment's description (a keyed start's
    ///   ``marker(for:)``), so that ``deployment(marked:createdSince:)`` finds it again.
    public func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, marker: String? = nil
    ) async throws(RolloutError) -> String {
        let appSpec = try AppSpec(
            function: request.function, alias: request.alias, currentVersion: fromVersion, targetVersion: toVersion,
            hooks: request.hooks
        )
        let config = try DeploymentConfigChoice.choose(for: request.strategy)
        let alarms = request.alarms ?? []
        guard alarms.count <= Self.maxAlarms else {
            throw RolloutError.invalidParams("alarms: CodeDeploy takes at most \(Self.maxAlarms) alarms, got \(alarms.count)")
        }

        let active = try await activeDeploymentIds()
        if let first = active.first {
            switch request.onConflict ?? .fail {
            case .fail: throw conflict(activeDeploymentId: first)
            case .rollback: try await stopAndWait(active)
            }
        }
        if case .custom(let name, let routing) = config {
            try await ensureConfig(name: name, trafficRouting: routing)
        }
        let description = "rolloutd\(marker.map { " " + $0 } ?? ""): \(request.function):\(request.alias) \(fromVersion) -> \(toVersion) (\(request.strategy.typeName))"
        do throws(RolloutError) {
            return try await codeDeploy.createDeployment(
                applicationName: application, deploymentGroupName: deploymentGroup, deploymentConfigName: config.name,
                appSpec: appSpec, description: String(description.prefix(100)), autoRollbackEvents: Self.autoRollbackEvents,
                alarms: alarms
            )
        } catch where error.code == .conflict {
            // Another deployment started between the check and the create.
            let raced = try? await activeDeploymentIds()
            guard let activeId = raced?.first else { throw error }
            throw conflict(activeDeploymentId: activeId)
        }
    }

    // MARK: Keyed starts

    /// What a keyed `rollout.start` writes into its deployment's description (`k=` and 16 hex
    /// digits of the SHA-256 of ``IdempotentCall/identity``). CodeDeploy chooses deployment ids
    /// itself and takes no client token, so the description is where a retry after a crash
    /// finds the deployment the killed daemon created.
    public static func marker(for call: IdempotentCall) -> String {
        "k=" + Digest.sha256(call.identity).hexString.prefix(16)
    }

    /// The group's deployment whose description starts with `rolloutd <marker>:`, looking at
    /// deployments newest first (`ListDeployments`, then `GetDeployment` each) down to those
    /// created before `since`; with the versions its AppSpec moves between.
    public func deployment(
        marked marker: String, createdSince since: Double
    ) async throws(RolloutError) -> (deploymentId: String, fromVersion: String, toVersion: String)? {
        let prefix = "rolloutd \(marker):"
        var token: String?
        repeat {
            let page = try await codeDeploy.listDeployments(
                applicationName: application, deploymentGroupName: deploymentGroup, includeOnlyStatuses: [], nextToken: token
            )
            for id in page.deploymentIds {
                let info = try await codeDeploy.getDeployment(id)
                if info.description?.hasPrefix(prefix) == true, let versions = Self.versions(appSpec: info.appSpecContent) {
                    return (id, versions.from, versions.to)
                }
                if let created = info.createTime, created < since { return nil }
            }
            token = page.nextToken
        } while token != nil
        return nil
    }

    /// `CurrentVersion` and `TargetVersion` of the AppSpec's one resource.
    static func versions(appSpec: String?) -> (from: String, to: String)? {
        guard let appSpec, let document = try? JSONParser.parse(appSpec),
              let resource = document["Resources"]?.arrayValue?.first?.objectValue?.values.first,
              let from = resource["Properties"]?["CurrentVersion"]?.stringValue,
              let to = resource["Properties"]?["TargetVersion"]?.stringValue
        else { return nil }
        return (from, to)
    }

    private func conflict(activeDeploymentId: String) -> RolloutError {
        RolloutError(
            .conflict,
            "the CodeDeploy deployment group \(application)/\(deploymentGroup) already has an active deployment \(activeDeploymentId); pass onConflict = \"rollback\" to stop it and roll it back first",
            data: ["activeDeploymentId": .string(activeDeploymentId)]
        )
    }

    /// Stops each of `initiallyActive` with a rollback and waits until the group has no
    /// active deployment (the rollback deployments CodeDeploy starts included).
    private func stopAndWait(_ initiallyActive: [String]) async throws(RolloutError) {
        var seen: Set<String> = []
        var waited = Duration.zero
        var active = initiallyActive
        while !active.isEmpty {
            if active.allSatisfy(seen.contains) {
                // ListDeployments lags behind GetDeployment, which already showed these terminal.
                try await pause(&waited, waitingFor: active[0])
            }
            for id in active where !seen.contains(id) {
                seen.insert(id)
                let info = try await codeDeploy.getDeployment(id)
                if !info.isTerminal, !info.isRollback { try await stopIgnoringCompleted(id) }
            }
            for id in active {
                while try await !codeDeploy.getDeployment(id).isTerminal {
                    try await pause(&waited, waitingFor: id)
                }
            }
            active = try await activeDeploymentIds()
        }
    }

    private func stopIgnoringCompleted(_ id: String) async throws(RolloutError) {
        do throws(RolloutError) {
            try await codeDeploy.stopDeployment(id, autoRollbackEnabled: true)
        } catch where error.upstreamCode == "DeploymentAlreadyCompletedException" {
            // It finished on its own since it was listed.
        }
    }

    /// Sleeps one poll interval; DeadlineExceeded once the waits add up to more than the limit.
    private func pause(_ waited: inout Duration, waitingFor id: String) async throws(RolloutError) {
        waited += pollInterval
        guard waited <= rollbackWaitLimit else {
            throw RolloutError(
                .deadlineExceeded,
                "the CodeDeploy deployment \(id) was still active after waiting \(rollbackWaitLimit) for it to stop and roll back",
                data: ["activeDeploymentId": .string(id)]
            )
        }
        do {
            try await sleep(pollInterval)
        } catch {
            throw .cancelled
        }
    }

    private func ensureConfig(name: String, trafficRouting: TrafficRouting) async throws(RolloutError) {
        do throws(RolloutError) {
            let existing = try await codeDeploy.getDeploymentConfig(name)
            guard existing.computePlatform == nil || existing.computePlatform == "Lambda",
                  existing.trafficRouting == trafficRouting
            else {
                throw RolloutError(
                    .preconditionFailed,
                    "the CodeDeploy deployment config \(name) exists with another compute platform or traffic routing; delete it so that rolloutd can recreate it"
                )
            }
            return
        } catch where error.code == .notFound || error.upstreamCode == "DeploymentConfigDoesNotExistException" {
            // Created below.
        }
        do throws(RolloutError) {
            try await codeDeploy.createDeploymentConfig(name: name, trafficRouting: trafficRouting)
        } catch where error.upstreamCode == "DeploymentConfigAlreadyExistsException" {
            // A concurrent start created it.
        }
    }

    // MARK: Describe

    /// The deployment `id` as `rollout.get` shows it.
    ///
    /// - `status`: Created and Queued → Created; Succeeded, Failed, Stopped as they are;
    ///   InProgress, Ready, Baking (and anything new) → InProgress.
    /// - `weight`: the Lambda target's `targetVersionWeight` while the deployment runs; 1 once
    ///   Succeeded; 0 once Failed or Stopped and rolled back (the target's weight, else 0, when
    ///   it was not rolled back).
    /// - `rolledBack`: the rollback deployment in `rollbackInfo` succeeded.
    /// - `error`: `errorInformation`, with codes outside SPEC §4.6's list reported as
    ///   `INTERNAL_ERROR` (`INVALID_LAMBDA_FUNCTION` as `INVALID_LAMBDA_CONFIGURATION`) and the
    ///   original code in the message.
    /// - `events`: creation, start, the target's lifecycle events, the terminal status and the
    ///   rollback, oldest first.
    public func deployment(_ id: String, record: CodeDeployRecord) async throws(RolloutError) -> Deployment {
        let info = try await codeDeploy.getDeployment(id)
        let status = Self.status(info.status)
        let target = status == .created ? nil : try await lambdaTarget(id)
        var rollback: CodeDeployClient.DeploymentInfo?
        if status.isTerminal, let rollbackId = info.rollbackDeploymentId {
            do throws(RolloutError) {
                rollback = try await codeDeploy.getDeployment(rollbackId)
            } catch where error.code == .notFound {
                rollback = nil
            }
        }
        let rolledBack = rollback?.status == "Succeeded"
        let weight: Double = switch status {
        case .succeeded: 1
        case .failed, .stopped: rolledBack ? 0 : target?.targetVersionWeight ?? 0
        case .created, .inProgress: target?.targetVersionWeight ?? 0
        }
        let startedAt = info.createTime ?? record.startedAt
        let error = Self.deploymentError(code: info.errorCode, message: info.errorMessage)

        var events = [DeploymentEvent(at: startedAt, type: "Created", detail: info.deploymentConfigName.map { "config \($0)" } ?? "")]
        if let start = info.startTime {
            events.append(DeploymentEvent(at: start, type: "Start", detail: "\(record.fromVersion) -> \(record.toVersion)"))
        }
        for event in target?.lifecycleEvents ?? [] {
            guard let at = event.endTime ?? event.startTime else { continue }
            let detail = [event.status, event.message].compactMap(\.self).joined(separator: ": ")
            events.append(DeploymentEvent(at: at, type: event.name, detail: detail))
        }
        if status.isTerminal {
            let at = info.completeTime ?? info.startTime ?? startedAt
            events.append(DeploymentEvent(at: at, type: status.rawValue, detail: error.map { "\($0.code): \($0.message)" } ?? ""))
            if let rollbackId = info.rollbackDeploymentId {
                let detail = "CodeDeploy deployment \(rollbackId)" + (info.rollbackMessage.map { ": \($0)" } ?? "")
                events.append(DeploymentEvent(at: at, type: "RollbackStarted", detail: detail))
            }
            if rolledBack, let rollback {
                events.append(
                    DeploymentEvent(
                        at: rollback.completeTime ?? at, type: "RollbackApplied", detail: "alias back on \(record.fromVersion)"
                    )
                )
            }
        }
        let ordered = events.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)

        return Deployment(
            deploymentId: id, engine: .codedeploy, function: record.function, alias: record.alias,
            fromVersion: record.fromVersion, toVersion: record.toVersion, strategy: record.strategy, status: status,
            weight: weight, startedAt: RFC3339.format(seconds: startedAt),
            completedAt: status.isTerminal ? info.completeTime.map { RFC3339.format(seconds: $0) } : nil,
            rolledBack: rolledBack, error: error, events: ordered.map(Deployment.Event.init)
        )
    }

    /// The deployment's Lambda target, or nil when CodeDeploy has none to show (not started,
    /// no targets).
    private func lambdaTarget(_ id: String) async throws(RolloutError) -> CodeDeployClient.LambdaTarget? {
        do throws(RolloutError) {
            let targetIds = try await codeDeploy.listDeploymentTargets(id).targetIds
            guard !targetIds.isEmpty else { return nil }
            return try await codeDeploy.batchGetDeploymentTargets(id, targetIds: Array(targetIds.prefix(25))).first
        } catch where error.code == .notFound || Self.noTargetCodes.contains(error.upstreamCode ?? "") {
            return nil
        }
    }

    /// Target lookups that mean "nothing to show yet", not a failure.
    static let noTargetCodes: Set<String> = [
        "DeploymentNotStartedException", "DeploymentTargetDoesNotExistException", "UnsupportedActionForDeploymentTypeException",
    ]

    /// CodeDeploy's status as a ``DeploymentStatus``.
    static func status(_ raw: String) -> DeploymentStatus {
        switch raw {
        case "Created", "Queued": .created
        case "Succeeded": .succeeded
        case "Failed": .failed
        case "Stopped": .stopped
        default: .inProgress
        }
    }

    /// The codes SPEC §4.6 lists for `error.code`.
    static let specErrorCodes: Set<DeploymentErrorCode> = [
        .hookExecutionFailure, .alarmActive, .manualStop, .timeout, .invalidLambdaConfiguration, .internalError,
    ]

    /// `errorInformation` as a ``DeploymentError``.
    static func deploymentError(code: String?, message: String?) -> DeploymentError? {
        guard code != nil || message != nil else { return nil }
        let upstream = DeploymentErrorCode(rawValue: code ?? DeploymentErrorCode.internalError.rawValue)
        if specErrorCodes.contains(upstream) {
            return DeploymentError(code: upstream, message: message ?? upstream.rawValue)
        }
        let mapped: DeploymentErrorCode = upstream.rawValue == "INVALID_LAMBDA_FUNCTION" ? .invalidLambdaConfiguration : .internalError
        return DeploymentError(code: mapped, message: "\(upstream.rawValue): \(message ?? "no message")")
    }

    // MARK: Stop and hooks

    /// `StopDeployment(autoRollbackEnabled: true)`: CodeDeploy stops shifting and rolls the
    /// alias back. PreconditionFailed when it already completed; NotFound when it does not exist.
    public func stop(_ id: String) async throws(RolloutError) {
        try await codeDeploy.stopDeployment(id, autoRollbackEnabled: true)
    }

    /// `PutLifecycleEventHookExecutionStatus` for the hook execution `executionId` (the
    /// `LifecycleEventHookExecutionId` CodeDeploy passed to the hook function).
    ///
    /// - Parameter status: `Succeeded` or `Failed` (anything else is InvalidParams).
    /// - Throws: PreconditionFailed when the lifecycle event already completed.
    public func reportHook(_ id: String, executionId: String, status: String) async throws(RolloutError) {
        guard status == "Succeeded" || status == "Failed" else {
            throw RolloutError.invalidParams("status must be \"Succeeded\" or \"Failed\", got \"\(status)\"")
        }
        guard !executionId.isEmpty else {
            throw RolloutError.invalidParams("executionId must be the LifecycleEventHookExecutionId CodeDeploy passed to the hook")
        }
        try await codeDeploy.putLifecycleEventHookExecutionStatus(
            deploymentId: id, lifecycleEventHookExecutionId: executionId, status: status
        )
    }
}

extension RolloutError {
    /// `data.upstream.code`: the AWS error code behind this error.
    fileprivate var upstreamCode: String? {
        data["upstream"]?["code"]?.stringValue
    }
}

extension CodeDeployRollouts: CodeDeployControl {
    /// See ``CodeDeployControl/checkStrategy(_:)``: ``DeploymentConfigChoice/choose(for:)``.
    public func checkStrategy(_ strategy: Strategy) throws(RolloutError) {
        _ = try DeploymentConfigChoice.choose(for: strategy)
    }

    /// See ``CodeDeployControl/start(_:fromVersion:toVersion:call:)``: a keyed start puts its
    /// ``marker(for:)`` into the deployment's description.
    public func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, call: IdempotentCall?
    ) async throws(RolloutError) -> String {
        try await start(request, fromVersion: fromVersion, toVersion: toVersion, marker: call.map(Self.marker(for:)))
    }

    /// See ``CodeDeployControl/deployment(startedBy:)``: the deployment with the call's marker,
    /// among those created since the call was first recorded.
    public func deployment(
        startedBy call: IdempotentCall
    ) async throws(RolloutError) -> (deploymentId: String, fromVersion: String, toVersion: String)? {
        // A minute of slack for clocks: the call's time is ours, createTime is CodeDeploy's.
        try await deployment(marked: Self.marker(for: call), createdSince: call.createdAt - 60)
    }

    /// See ``CodeDeployControl/reportHook(_:executionId:succeeded:)``.
    public func reportHook(_ id: String, executionId: String, succeeded: Bool) async throws(RolloutError) {
        try await reportHook(id, executionId: executionId, status: succeeded ? "Succeeded" : "Failed")
    }
}
