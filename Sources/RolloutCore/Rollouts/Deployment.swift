/// Which engine runs a deployment (SPEC §2 `[cloud.aws.rollout].engine`, `rollout.start {engine}`).
public enum RolloutEngineKind: String, Sendable, Hashable, Codable, CaseIterable {
    /// rolloutd shifts the alias itself.
    case native
    /// AWS CodeDeploy shifts the alias; rolloutd creates and watches the deployment.
    case codedeploy
}

/// What `rollout.start` does when the alias already has an active deployment.
public enum ConflictPolicy: String, Sendable, Hashable, Codable {
    /// Refuse with Conflict and `data.activeDeploymentId`.
    case fail
    /// Stop and roll back the active deployment, wait for it, then start.
    case rollback
}

/// `hooks` of `rollout.start`: Lambda functions (name or ARN) invoked synchronously.
public struct RolloutHooks: Sendable, Hashable, Codable {
    /// Runs before the first shift.
    public var beforeTraffic: String?
    /// Runs after the 100% step.
    public var afterTraffic: String?
    /// Seconds a hook may take (default 3600, as CodeDeploy).
    public var timeoutSeconds: Int?

    /// Creates hooks.
    public init(beforeTraffic: String? = nil, afterTraffic: String? = nil, timeoutSeconds: Int? = nil) {
        self.beforeTraffic = beforeTraffic
        self.afterTraffic = afterTraffic
        self.timeoutSeconds = timeoutSeconds
    }

    /// The function a hook names, if configured.
    public func function(for hook: Hook) -> String? {
        switch hook {
        case .beforeTraffic: beforeTraffic
        case .afterTraffic: afterTraffic
        }
    }
}

/// The params of `rollout.start` and `rollout.plan` (SPEC §4.6), without the generic
/// `idempotencyKey` / `timeoutMs` the dispatcher takes.
public struct RolloutRequest: Sendable, Hashable, Codable {
    /// Function name or ARN.
    public var function: String
    /// The alias to move.
    public var alias: String
    /// A published version; required unless `publish` is true.
    public var targetVersion: String?
    /// Publish `$LATEST` as a new version and target it.
    public var publish: Bool?
    /// How traffic moves.
    public var strategy: Strategy
    /// Lifecycle hooks.
    public var hooks: RolloutHooks?
    /// CloudWatch alarm names; any in ALARM rolls back.
    public var alarms: [String]?
    /// SNS topic for notifications.
    public var notifyTopicArn: String?
    /// `fail` (default) or `rollback`.
    public var onConflict: ConflictPolicy?
    /// Overrides `[cloud.aws.rollout].engine`.
    public var engine: RolloutEngineKind?

    /// Creates a request.
    public init(
        function: String, alias: String, targetVersion: String? = nil, publish: Bool? = nil, strategy: Strategy,
        hooks: RolloutHooks? = nil, alarms: [String]? = nil, notifyTopicArn: String? = nil,
        onConflict: ConflictPolicy? = nil, engine: RolloutEngineKind? = nil
    ) {
        self.function = function
        self.alias = alias
        self.targetVersion = targetVersion
        self.publish = publish
        self.strategy = strategy
        self.hooks = hooks
        self.alarms = alarms
        self.notifyTopicArn = notifyTopicArn
        self.onConflict = onConflict
        self.engine = engine
    }
}

/// A deployment as `rollout.get` returns it (SPEC §4.6); times are RFC 3339 UTC.
public struct Deployment: Sendable, Hashable, Codable {
    /// One entry of the history.
    public struct Event: Sendable, Hashable, Codable {
        /// RFC 3339 time.
        public var at: String
        /// Event type, e.g. `ShiftApplied`.
        public var type: String
        /// Details for humans.
        public var detail: String

        /// Creates a wire event.
        public init(at: String, type: String, detail: String) {
            self.at = at
            self.type = type
            self.detail = detail
        }

        /// The wire form of an engine event.
        public init(_ event: DeploymentEvent) {
            self.init(at: RFC3339.format(seconds: event.at), type: event.type, detail: event.detail)
        }
    }

    /// `d-` + 12 characters for native deployments; CodeDeploy's id for the other engine.
    public var deploymentId: String
    /// The engine running it.
    public var engine: RolloutEngineKind
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
    /// CodeDeploy-style status.
    public var status: DeploymentStatus
    /// Share of traffic on `toVersion`, 0…1.
    public var weight: Double
    /// When the next shift is due.
    public var nextStepAt: String?
    /// When the deployment started.
    public var startedAt: String
    /// When it reached a terminal status.
    public var completedAt: String?
    /// True once the alias was put back on `fromVersion`.
    public var rolledBack: Bool
    /// True when target equalled the current version.
    public var skipped: Bool?
    /// True while paused.
    public var paused: Bool?
    /// Fleet mode: the node that holds the active deployment's lease and drives it.
    public var owner: String?
    /// Why it failed or stopped.
    public var error: DeploymentError?
    /// History, oldest first.
    public var events: [Event]

    /// Creates a deployment description.
    public init(
        deploymentId: String, engine: RolloutEngineKind, function: String, alias: String, fromVersion: String,
        toVersion: String, strategy: Strategy, status: DeploymentStatus, weight: Double, nextStepAt: String? = nil,
        startedAt: String, completedAt: String? = nil, rolledBack: Bool, skipped: Bool? = nil, paused: Bool? = nil,
        error: DeploymentError? = nil, events: [Event]
    ) {
        self.deploymentId = deploymentId
        self.engine = engine
        self.function = function
        self.alias = alias
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.strategy = strategy
        self.status = status
        self.weight = weight
        self.nextStepAt = nextStepAt
        self.startedAt = startedAt
        self.completedAt = completedAt
        self.rolledBack = rolledBack
        self.skipped = skipped
        self.paused = paused
        self.error = error
        self.events = events
    }
}

/// One check of `rollout.plan` (and of `rollout.start`'s preflight).
public struct PlanCheck: Sendable, Hashable, Codable {
    /// What was checked, e.g. `alias exists`.
    public var name: String
    /// Whether it passed.
    public var ok: Bool
    /// What was found.
    public var detail: String

    /// Creates a check.
    public init(name: String, ok: Bool, detail: String) {
        self.name = name
        self.ok = ok
        self.detail = detail
    }
}

/// `rollout.plan`'s result: the steps, the preflight checks and the expected length.
public struct RolloutPlan: Sendable, Hashable, Codable {
    /// One entry per shift.
    public var steps: [Step]
    /// Preflight checks; `rollout.start` fails on the first that is not ok.
    public var checks: [PlanCheck]
    /// Seconds from the first shift to the last (hook run time not included).
    public var estimatedSeconds: Int

    /// Creates a plan.
    public init(steps: [Step], checks: [PlanCheck], estimatedSeconds: Int) {
        self.steps = steps
        self.checks = checks
        self.estimatedSeconds = estimatedSeconds
    }
}
