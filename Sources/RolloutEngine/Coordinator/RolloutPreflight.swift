public import RolloutCore

/// The checks `rollout.plan` reports and `rollout.start` requires (SPEC §4.6), shared by both
/// engines. Nothing here changes the alias; `publish` is only performed by ``resolve(_:)``.
public struct RolloutPreflight: Sendable {
    /// What the checks found.
    public struct Report: Sendable, Hashable {
        /// Every check, in order.
        public var checks: [PlanCheck]
        /// The alias's primary version, when the alias could be read.
        public var fromVersion: String?
        /// The target, when known (`publish` leaves it nil in a plan).
        public var toVersion: String?
        /// The alias `RevisionId`, when the alias could be read.
        public var revisionId: String?
        /// The alias's extra weights when it is split.
        public var additionalWeights: [String: Double] = [:]

        /// The first failed check, if any.
        public var firstFailure: PlanCheck? { checks.first { !$0.ok } }
    }

    let lambda: any LambdaControl
    let alarms: (any AlarmStateReader)?

    /// Checks against `lambda` and `alarms` (alarm checks fail when alarms are named but no
    /// CloudWatch client is configured).
    public init(lambda: any LambdaControl, alarms: (any AlarmStateReader)?) {
        self.lambda = lambda
        self.alarms = alarms
    }

    /// Validates the params that need no AWS call. InvalidParams names the field.
    public static func validate(_ request: RolloutRequest) throws(RolloutError) {
        guard !request.function.isEmpty else { throw RolloutError.invalidParams("param 'function' must not be empty") }
        guard !request.alias.isEmpty else { throw RolloutError.invalidParams("param 'alias' must not be empty") }
        switch (request.targetVersion, request.publish ?? false) {
        case (nil, false):
            throw RolloutError.invalidParams("give param 'targetVersion' or 'publish: true'")
        case (.some, true):
            throw RolloutError.invalidParams("give either param 'targetVersion' or 'publish: true', not both")
        case (.some(let version), false) where version.isEmpty:
            throw RolloutError.invalidParams("param 'targetVersion' must not be empty")
        default:
            break
        }
        _ = try request.strategy.steps()
        if let hooks = request.hooks {
            if let timeout = hooks.timeoutSeconds, !(1...3600).contains(timeout) {
                throw RolloutError.invalidParams("param 'hooks.timeoutSeconds' must be between 1 and 3600 (got \(timeout))")
            }
            for hook in Hook.allCases {
                if let function = hooks.function(for: hook), function.isEmpty {
                    throw RolloutError.invalidParams("param 'hooks.\(hook.rawValue)' must not be empty")
                }
            }
        }
        if let alarms = request.alarms {
            guard alarms.count <= 10 else {
                throw RolloutError.invalidParams("param 'alarms' may name at most 10 alarms (got \(alarms.count))")
            }
            if alarms.contains(where: \.isEmpty) { throw RolloutError.invalidParams("param 'alarms' must not contain empty names") }
        }
        if let topic = request.notifyTopicArn, !(topic.hasPrefix("arn:") && topic.split(separator: ":").count >= 6) {
            throw RolloutError.invalidParams("param 'notifyTopicArn' must be an SNS topic ARN (got \(topic))")
        }
    }

    /// Runs every check. `ownDeploymentWeights` is true when a split alias belongs to a
    /// deployment of ours that will be rolled back first (`onConflict = rollback`).
    public func report(for request: RolloutRequest, toleratingSplit: Bool = false) async -> Report {
        var report = Report(checks: [])
        func check(_ name: String, _ ok: Bool, _ detail: String) {
            report.checks.append(PlanCheck(name: name, ok: ok, detail: detail))
        }
        do {
            let alias = try await lambda.getAlias(function: request.function, alias: request.alias)
            report.fromVersion = alias.functionVersion
            report.revisionId = alias.revisionId
            report.additionalWeights = alias.additionalWeights
            check("alias exists", true, "\(request.function):\(request.alias) is on version \(alias.functionVersion)")
            check(
                "alias on a published version", alias.functionVersion != "$LATEST",
                alias.functionVersion == "$LATEST"
                    ? "the alias points at $LATEST; weighted routing needs a published version" : "version \(alias.functionVersion)"
            )
            let split = alias.additionalWeights.filter { $0.value > 0 }
            check(
                "alias not split", split.isEmpty || toleratingSplit,
                split.isEmpty
                    ? "no additional version weights"
                    : "the alias also routes \(split.sorted { $0.key < $1.key }.map { "\($0.value) to version \($0.key)" }.joined(separator: ", "))"
                        + (toleratingSplit ? " (our own deployment, rolled back first)" : "; finish or roll back that deployment first")
            )
        } catch {
            check("alias exists", false, error.code == .notFound
                ? "alias \(request.alias) of function \(request.function) does not exist" : "cannot read the alias: \(error.message)")
        }
        if let target = request.targetVersion {
            report.toVersion = target
            if target == "$LATEST" {
                check("target is a published version", false, "$LATEST cannot be a target; use publish: true or a version number")
            } else {
                do {
                    let exists = try await lambda.versionExists(function: request.function, version: target)
                    check("target is a published version", exists, exists ? "version \(target)" : "version \(target) of \(request.function) does not exist")
                } catch {
                    check("target is a published version", false, "cannot read version \(target): \(error.message)")
                }
            }
        } else {
            check("target is a published version", true, "publish: true publishes $LATEST as a new version at start")
        }
        for hook in Hook.allCases {
            guard let function = request.hooks?.function(for: hook) else { continue }
            do {
                let exists = try await lambda.versionExists(function: function, version: "$LATEST")
                check("\(hook.rawValue) hook exists", exists, exists ? function : "hook function \(function) does not exist")
            } catch {
                check("\(hook.rawValue) hook exists", false, "cannot read hook function \(function): \(error.message)")
            }
        }
        let names = request.alarms ?? []
        if !names.isEmpty {
            if let alarms {
                do {
                    let states = try await alarms.alarmStates(names: names)
                    let missing = names.filter { states[$0] == nil }
                    check("alarms exist", missing.isEmpty, missing.isEmpty ? names.joined(separator: ", ") : "no such alarm: \(missing.joined(separator: ", "))")
                    let firing = names.filter { states[$0] == "ALARM" }
                    check(
                        "no alarm in ALARM", firing.isEmpty,
                        firing.isEmpty
                            ? names.map { "\($0): \(states[$0] ?? "missing")" }.joined(separator: ", ")
                            : "already in ALARM (the deployment would stop at once): \(firing.joined(separator: ", "))"
                    )
                } catch {
                    check("alarms exist", false, "cannot read the alarms: \(error.message)")
                }
            } else {
                check("alarms exist", false, "alarms are named but CloudWatch has no region configured")
            }
        }
        return report
    }
}
