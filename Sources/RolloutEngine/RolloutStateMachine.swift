public import RolloutCore

/// The native engine's traffic-shifting state machine (SPEC §4.6).
///
/// A pure value type in the style of async-http-client's `HTTP1ConnectionStateMachine`:
/// events go in, ``Action``s come out, and nothing here performs I/O, reads a clock or draws
/// random numbers. Time arrives with every event as seconds since the epoch. The executor
/// performs the actions in order; ``Action/persist`` always precedes the effect it records.
public struct RolloutStateMachine: Sendable, Hashable {
    /// Where the deployment is.
    public enum Phase: Sendable, Hashable, Codable {
        /// Recorded, not started.
        case created
        /// The `beforeTraffic` hook is running.
        case beforeTrafficHook
        /// Shifting: `applied` is the last step the alias is known to show, `inFlight` the one requested.
        case shifting(applied: Int?, inFlight: Int?)
        /// The `afterTraffic` hook is running; the alias is on the target version.
        case afterTrafficHook
        /// Putting the alias back on the old version; ends with `status` and `error`.
        case rollingBack(status: DeploymentStatus, error: DeploymentError)
        /// Terminal.
        case finished
    }

    /// What the deployment needs from the outside world.
    public struct Configuration: Sendable, Hashable, Codable {
        /// The version the alias is on when the deployment starts.
        public var fromVersion: String
        /// The version the deployment moves the alias to.
        public var toVersion: String
        /// How traffic moves.
        public var strategy: Strategy
        /// Hooks configured (the executor knows which functions they name).
        public var hooks: Set<Hook>
        /// Seconds a hook may run before it counts as failed (default 3600, as CodeDeploy).
        public var hookTimeoutSeconds: Int
        /// CloudWatch alarm names to watch.
        public var alarms: [String]
        /// Seconds between alarm polls.
        public var alarmPollSeconds: Int
        /// Seconds added to the plan length and hook timeouts to form the wall-clock deadline.
        public var deadlineMarginSeconds: Int

        /// Creates a configuration.
        public init(
            fromVersion: String, toVersion: String, strategy: Strategy, hooks: Set<Hook> = [],
            hookTimeoutSeconds: Int = 3600, alarms: [String] = [], alarmPollSeconds: Int = 30,
            deadlineMarginSeconds: Int = 300
        ) {
            self.fromVersion = fromVersion
            self.toVersion = toVersion
            self.strategy = strategy
            self.hooks = hooks
            self.hookTimeoutSeconds = hookTimeoutSeconds
            self.alarms = alarms
            self.alarmPollSeconds = alarmPollSeconds
            self.deadlineMarginSeconds = deadlineMarginSeconds
        }
    }

    /// Everything the machine knows; persisted before every effect and restored after a restart.
    public struct Snapshot: Sendable, Hashable, Codable {
        /// The deployment's parameters.
        public internal(set) var configuration: Configuration
        /// The plan, from `configuration.strategy`.
        public internal(set) var steps: [Step]
        /// The current phase.
        public internal(set) var phase: Phase = .created
        /// The CodeDeploy-style status.
        public internal(set) var status: DeploymentStatus = .created
        /// Set when the deployment failed or stopped.
        public internal(set) var error: DeploymentError?
        /// True once the alias was put back on `fromVersion`.
        public internal(set) var rolledBack = false
        /// True when target equalled the current version and nothing was changed.
        public internal(set) var skipped = false
        /// The share of traffic the alias is known to send to `toVersion`.
        public internal(set) var weight: Double = 0
        /// The alias `RevisionId` after our last change (the fencing token).
        public internal(set) var revisionId: String?
        /// When `start` arrived.
        public internal(set) var startedAt: Double?
        /// When the first shift was due: the origin of the step schedule.
        public internal(set) var shiftingStartedAt: Double?
        /// When the running hook was invoked.
        public internal(set) var hookStartedAt: Double?
        /// When the deployment reached a terminal status.
        public internal(set) var completedAt: Double?
        /// When the deployment was paused, if it is.
        public internal(set) var pausedAt: Double?
        /// Seconds spent paused so far; the schedule and the deadline move by this much.
        public internal(set) var pausedSeconds: Double = 0
        /// Jump to the final step as soon as possible.
        public internal(set) var promoted = false
        /// Next alarm poll.
        public internal(set) var nextAlarmPollAt: Double?
        /// Next attempt after a failed rollback.
        public internal(set) var rollbackRetryAt: Double?
        /// Notifications already emitted.
        public internal(set) var notified: Set<NotificationEvent> = []
        /// History.
        public internal(set) var events: [DeploymentEvent] = []
    }

    /// Something that happened.
    public enum Event: Sendable, Hashable {
        /// Begin the deployment.
        case start(now: Double)
        /// A hook returned.
        case hookFinished(Hook, succeeded: Bool, detail: String, now: Double)
        /// The last `applyWeight`/`setPrimary` took effect.
        case shiftApplied(weight: Double, revisionId: String?, now: Double)
        /// The last `applyWeight`/`setPrimary` cannot be applied.
        case shiftFailed(reason: String, now: Double)
        /// The alias as read after a restart.
        case aliasObserved(functionVersion: String, additionalWeights: [String: Double], now: Double)
        /// The timer requested by ``Action/scheduleTick(at:)`` fired.
        case tick(now: Double)
        /// Alarm states by name: `OK`, `ALARM` or `INSUFFICIENT_DATA`.
        case alarmStates([String: String], now: Double)
        /// `rollout.stop`.
        case stop(now: Double)
        /// `rollout.promote`.
        case promote(now: Double)
        /// `rollout.pause`.
        case pause(now: Double)
        /// `rollout.resume`.
        case resume(now: Double)
        /// The alias is back on `fromVersion`.
        case rollbackApplied(now: Double)
        /// The rollback could not be applied; it is retried.
        case rollbackFailed(reason: String, now: Double)
        /// A hook did not return in time.
        case hookTimedOut(Hook, now: Double)
        /// Fleet mode: `node` took the deployment over under lease `epoch` (its driver stopped
        /// renewing); recorded as an `Adopted` event before the alias is reconciled.
        case adopted(node: String, epoch: Int64, now: Double)
    }

    /// Something the executor must do, in order.
    public enum Action: Sendable, Hashable {
        /// Write ``RolloutStateMachine/snapshot`` before performing the actions that follow.
        case persist
        /// Publish an SNS notification.
        case notify(NotificationEvent)
        /// Invoke a hook, then send ``Event/hookFinished(_:succeeded:detail:now:)``.
        case invokeHook(Hook)
        /// `UpdateAlias` with `AdditionalVersionWeights {toVersion: weight}`, 0 < weight < 1.
        case applyWeight(Double)
        /// `UpdateAlias` with `FunctionVersion = version` and no additional weights (the final step).
        case setPrimary(version: String)
        /// `UpdateAlias` with `FunctionVersion = version` (the old one) and no additional weights.
        case rollback(toVersion: String)
        /// Send ``Event/tick(now:)`` at this time (replaces any earlier timer).
        case scheduleTick(at: Double)
        /// Read the alarms and send ``Event/alarmStates(_:now:)``.
        case pollAlarms
        /// The deployment ended with this status.
        case complete(DeploymentStatus)
    }

    /// The state to persist.
    public private(set) var snapshot: Snapshot

    /// A new deployment in `Created`. Throws `InvalidParams` for an invalid strategy.
    public init(_ configuration: Configuration) throws(RolloutError) {
        snapshot = Snapshot(configuration: configuration, steps: try configuration.strategy.steps())
    }

    /// A deployment restored from a persisted snapshot; follow with
    /// ``reconcile(aliasVersion:additionalWeights:now:)``.
    public init(restoring snapshot: Snapshot) {
        self.snapshot = snapshot
    }

    /// The current status.
    public var status: DeploymentStatus { snapshot.status }

    /// The current phase.
    public var phase: Phase { snapshot.phase }

    /// The wall-clock deadline: plan length + hook timeouts + margin + time paused. It does not
    /// fire while the deployment is paused (a resume moves it by the pause's length).
    public var deadline: Double? {
        guard let startedAt = snapshot.startedAt else { return nil }
        let configuration = snapshot.configuration
        let plan = Double(snapshot.steps.last?.atSeconds ?? 0)
        let hooks = Double(configuration.hooks.count * configuration.hookTimeoutSeconds)
        return startedAt + plan + hooks + Double(configuration.deadlineMarginSeconds) + snapshot.pausedSeconds
    }

    /// When the next step is due, if one is waiting for the clock.
    public var nextStepAt: Double? {
        guard case .shifting(let applied, nil) = snapshot.phase, snapshot.pausedAt == nil,
            let origin = snapshot.shiftingStartedAt
        else { return nil }
        let next = applied.map { $0 + 1 } ?? 0
        guard next < snapshot.steps.count else { return nil }
        return origin + snapshot.pausedSeconds + Double(snapshot.steps[next].atSeconds)
    }

    /// When the machine wants a ``Event/tick(now:)``; nil when it waits only for other events.
    public var nextWakeUp: Double? {
        var candidates: [Double] = []
        switch snapshot.phase {
        case .created, .finished:
            return nil
        case .rollingBack:
            return snapshot.rollbackRetryAt
        case .beforeTrafficHook, .afterTrafficHook:
            if let hookStartedAt = snapshot.hookStartedAt {
                candidates.append(hookStartedAt + Double(snapshot.configuration.hookTimeoutSeconds))
            }
        case .shifting:
            if let nextStepAt { candidates.append(nextStepAt) }
        }
        if snapshot.pausedAt == nil, let deadline { candidates.append(deadline) }
        if let nextAlarmPollAt = snapshot.nextAlarmPollAt { candidates.append(nextAlarmPollAt) }
        return candidates.min()
    }

    /// Handles one event and returns the actions to perform, in order.
    public mutating func handle(_ event: Event) -> [Action] {
        var actions = dispatch(event)
        if let wakeUp = nextWakeUp {
            actions.append(.scheduleTick(at: wakeUp))
        }
        return actions
    }

    /// After a restart: compares the alias with the record. A step the alias shows but the
    /// record had not confirmed is adopted; an alias state that cannot be explained rolls back
    /// with `INTERNAL_ERROR`; a deadline that passed while down rolls back with `TIMEOUT`.
    public mutating func reconcile(aliasVersion: String, additionalWeights: [String: Double], now: Double) -> [Action] {
        handle(.aliasObserved(functionVersion: aliasVersion, additionalWeights: additionalWeights, now: now))
    }

    // MARK: - Dispatch

    private var isActive: Bool {
        switch snapshot.phase {
        case .beforeTrafficHook, .shifting, .afterTrafficHook: true
        case .created, .rollingBack, .finished: false
        }
    }

    private mutating func dispatch(_ event: Event) -> [Action] {
        switch event {
        case .start(let now):
            return start(now: now)
        case .hookFinished(let hook, let succeeded, let detail, let now):
            return hookFinished(hook, succeeded: succeeded, detail: detail, now: now)
        case .hookTimedOut(let hook, let now):
            return hookFinished(hook, succeeded: false, detail: "the \(hook.rawValue) hook timed out", now: now)
        case .shiftApplied(let weight, let revisionId, let now):
            return shiftApplied(weight: weight, revisionId: revisionId, now: now)
        case .shiftFailed(let reason, let now):
            guard case .shifting(_, .some) = snapshot.phase else { return [] }
            return beginRollback(.failed, .internalError, "the shift could not be applied: \(reason)", now: now)
        case .aliasObserved(let version, let weights, let now):
            return aliasObserved(version: version, weights: weights, now: now)
        case .tick(let now):
            return tick(now: now)
        case .alarmStates(let states, let now):
            guard isActive else { return [] }
            let firing = states.filter { $0.value == "ALARM" }.keys.sorted()
            guard !firing.isEmpty else { return [] }
            return beginRollback(.stopped, .alarmActive, "alarm in ALARM: \(firing.joined(separator: ", "))", now: now)
        case .stop(let now):
            if case .created = snapshot.phase {
                record(now, "Stopped", "stopped before it started")
                return finish(.stopped, DeploymentError(code: .manualStop, message: "stopped by request"), now: now)
            }
            guard isActive else { return [] }
            return beginRollback(.stopped, .manualStop, "stopped by request", now: now)
        case .promote(let now):
            guard isActive, !snapshot.promoted else { return [] }
            snapshot.promoted = true
            record(now, "Promoted", "jump to 100%")
            return [.persist] + effects(advance(now: now))
        case .pause(let now):
            guard isActive, snapshot.pausedAt == nil, snapshot.phase != .afterTrafficHook else { return [] }
            snapshot.pausedAt = now
            record(now, "Paused", "no new steps until resumed")
            return [.persist]
        case .resume(let now):
            guard isActive, let pausedAt = snapshot.pausedAt else { return [] }
            snapshot.pausedSeconds += max(0, now - pausedAt)
            snapshot.pausedAt = nil
            record(now, "Resumed", "paused for \(max(0, now - pausedAt)) s")
            return [.persist] + effects(advance(now: now))
        case .rollbackApplied(let now):
            guard case .rollingBack(let status, let error) = snapshot.phase else { return [] }
            return rollbackApplied(status: status, error: error, now: now)
        case .rollbackFailed(let reason, let now):
            guard case .rollingBack = snapshot.phase else { return [] }
            snapshot.rollbackRetryAt = now + 5
            record(now, "RollbackFailed", reason)
            return [.persist]
        case .adopted(let node, let epoch, let now):
            guard snapshot.phase != .finished else { return [] }
            record(now, "Adopted", "adopted by \(node) (epoch \(epoch))")
            return []
        }
    }

    // MARK: - Transitions

    private mutating func start(now: Double) -> [Action] {
        guard case .created = snapshot.phase else { return [] }
        let configuration = snapshot.configuration
        snapshot.startedAt = now
        snapshot.status = .inProgress
        record(now, "Start", "\(configuration.fromVersion) -> \(configuration.toVersion)")
        if configuration.fromVersion == configuration.toVersion {
            snapshot.skipped = true
            snapshot.weight = 1
            record(now, "Skipped", "the alias is already on version \(configuration.toVersion)")
            return finish(.succeeded, nil, now: now, notifying: [.deploymentStart])
        }
        if !configuration.alarms.isEmpty {
            snapshot.nextAlarmPollAt = now + Double(configuration.alarmPollSeconds)
        }
        if configuration.hooks.contains(.beforeTraffic) {
            snapshot.phase = .beforeTrafficHook
            snapshot.hookStartedAt = now
            record(now, "HookInvoked", Hook.beforeTraffic.rawValue)
            return [.persist] + notify(.deploymentStart) + [.invokeHook(.beforeTraffic)]
        }
        let first = beginShifting(now: now)
        return [.persist] + notify(.deploymentStart) + effects(first)
    }

    /// Enters `.shifting` with the schedule's origin at `now` and returns the first step's effect.
    /// A pause already under way does not count against the schedule.
    private mutating func beginShifting(now: Double) -> Action? {
        snapshot.phase = .shifting(applied: nil, inFlight: nil)
        snapshot.hookStartedAt = nil
        snapshot.shiftingStartedAt = now - snapshot.pausedSeconds - (snapshot.pausedAt.map { now - $0 } ?? 0)
        return advance(now: now)
    }

    /// Requests the step the clock (or a promotion) says the alias should be on and returns
    /// its effect, or nil when nothing is due. The caller puts `persist` before the effect.
    private mutating func advance(now: Double) -> Action? {
        guard case .shifting(let applied, nil) = snapshot.phase, snapshot.pausedAt == nil,
            let origin = snapshot.shiftingStartedAt
        else { return nil }
        let last = snapshot.steps.count - 1
        let elapsed = now - origin - snapshot.pausedSeconds
        let due = snapshot.promoted ? last : (snapshot.steps.lastIndex { Double($0.atSeconds) <= elapsed } ?? 0)
        guard due > (applied ?? -1) else { return nil }
        snapshot.phase = .shifting(applied: applied, inFlight: due)
        let weight = snapshot.steps[due].weight
        record(now, "ShiftRequested", "step \(due + 1)/\(last + 1): weight \(weight)")
        return due == last ? .setPrimary(version: snapshot.configuration.toVersion) : .applyWeight(weight)
    }

    private mutating func shiftApplied(weight: Double, revisionId: String?, now: Double) -> [Action] {
        guard case .shifting(_, .some(let step)) = snapshot.phase else {
            if case .rollingBack = snapshot.phase {
                snapshot.weight = weight
                snapshot.revisionId = revisionId ?? snapshot.revisionId
            }
            return []
        }
        snapshot.weight = snapshot.steps[step].weight
        snapshot.revisionId = revisionId ?? snapshot.revisionId
        record(now, "ShiftApplied", "weight \(snapshot.weight)")
        return stepConfirmed(step, now: now)
    }

    /// The alias shows `step`: continue with the next one, the `afterTraffic` hook or success.
    private mutating func stepConfirmed(_ step: Int, now: Double) -> [Action] {
        snapshot.weight = snapshot.steps[step].weight
        guard step == snapshot.steps.count - 1 else {
            snapshot.phase = .shifting(applied: step, inFlight: nil)
            return [.persist] + effects(advance(now: now))
        }
        if snapshot.configuration.hooks.contains(.afterTraffic) {
            snapshot.phase = .afterTrafficHook
            snapshot.hookStartedAt = now
            record(now, "HookInvoked", Hook.afterTraffic.rawValue)
            return [.persist, .invokeHook(.afterTraffic)]
        }
        return finish(.succeeded, nil, now: now)
    }

    private mutating func hookFinished(_ hook: Hook, succeeded: Bool, detail: String, now: Double) -> [Action] {
        switch (snapshot.phase, hook) {
        case (.beforeTrafficHook, .beforeTraffic):
            guard succeeded else {
                return beginRollback(.failed, .hookExecutionFailure, "beforeTraffic hook failed: \(detail)", now: now)
            }
            record(now, "HookSucceeded", hook.rawValue)
            return [.persist] + effects(beginShifting(now: now))
        case (.afterTrafficHook, .afterTraffic):
            guard succeeded else {
                return beginRollback(.failed, .hookExecutionFailure, "afterTraffic hook failed: \(detail)", now: now)
            }
            record(now, "HookSucceeded", hook.rawValue)
            return finish(.succeeded, nil, now: now)
        default:
            return []
        }
    }

    private mutating func tick(now: Double) -> [Action] {
        if case .rollingBack = snapshot.phase {
            guard let retryAt = snapshot.rollbackRetryAt, now >= retryAt else { return [] }
            snapshot.rollbackRetryAt = nil
            record(now, "RollbackRetried", "")
            return [.persist, .rollback(toVersion: snapshot.configuration.fromVersion)]
        }
        guard isActive else { return [] }
        if snapshot.pausedAt == nil, let deadline, now >= deadline {
            return beginRollback(.failed, .timeout, "the deployment's deadline passed", now: now)
        }
        let configuration = snapshot.configuration
        if let hookStartedAt = snapshot.hookStartedAt, now >= hookStartedAt + Double(configuration.hookTimeoutSeconds) {
            let hook: Hook = snapshot.phase == .beforeTrafficHook ? .beforeTraffic : .afterTraffic
            return hookFinished(hook, succeeded: false, detail: "timed out", now: now)
        }
        var actions: [Action] = advance(now: now).map { [Action.persist, $0] } ?? []
        if let pollAt = snapshot.nextAlarmPollAt, now >= pollAt {
            snapshot.nextAlarmPollAt = now + Double(configuration.alarmPollSeconds)
            actions.append(.pollAlarms)
        }
        return actions
    }

    private mutating func aliasObserved(version: String, weights: [String: Double], now: Double) -> [Action] {
        let configuration = snapshot.configuration
        let observed: Double? =
            if version == configuration.fromVersion && weights.isEmpty {
                0
            } else if version == configuration.fromVersion && weights.count == 1, let weight = weights[configuration.toVersion] {
                Strategy.rounded(weight)
            } else if version == configuration.toVersion && weights.isEmpty {
                1
            } else {
                nil
            }
        record(now, "AliasObserved", "version \(version), weights \(weights.sorted { $0.key < $1.key })")
        switch snapshot.phase {
        case .created, .finished:
            return []
        case .rollingBack(let status, let error):
            if observed == 0 { return rollbackApplied(status: status, error: error, now: now) }
            snapshot.rollbackRetryAt = nil
            return [.persist, .rollback(toVersion: configuration.fromVersion)]
        case .beforeTrafficHook, .shifting, .afterTrafficHook:
            break
        }
        if let deadline, now >= deadline {
            return beginRollback(.failed, .timeout, "the deadline passed while the daemon was down", now: now)
        }
        let unexplained = "the alias shows version \(version) with weights \(weights), which the record cannot explain"
        switch snapshot.phase {
        case .beforeTrafficHook:
            guard observed == 0 else { return beginRollback(.failed, .internalError, unexplained, now: now) }
            snapshot.hookStartedAt = now
            record(now, "HookInvoked", Hook.beforeTraffic.rawValue)
            return [.persist, .invokeHook(.beforeTraffic)]
        case .afterTrafficHook:
            guard observed == 1 else { return beginRollback(.failed, .internalError, unexplained, now: now) }
            snapshot.hookStartedAt = now
            record(now, "HookInvoked", Hook.afterTraffic.rawValue)
            return [.persist, .invokeHook(.afterTraffic)]
        case .shifting(let applied, let inFlight):
            guard let observed else { return beginRollback(.failed, .internalError, unexplained, now: now) }
            if observed == 0 && applied == nil {
                snapshot.phase = .shifting(applied: nil, inFlight: nil)
                snapshot.weight = 0
                return [.persist] + effects(advance(now: now))
            }
            let candidates = [inFlight, applied].compactMap { $0 }
            guard let step = candidates.first(where: { snapshot.steps[$0].weight == observed }) else {
                return beginRollback(.failed, .internalError, unexplained, now: now)
            }
            record(now, "StepAdopted", "the alias shows weight \(observed)")
            return stepConfirmed(step, now: now)
        case .created, .rollingBack, .finished:
            return []
        }
    }

    // MARK: - Endings

    private mutating func beginRollback(
        _ status: DeploymentStatus, _ code: DeploymentErrorCode, _ message: String, now: Double
    ) -> [Action] {
        let error = DeploymentError(code: code, message: message)
        snapshot.phase = .rollingBack(status: status, error: error)
        snapshot.error = error
        snapshot.hookStartedAt = nil
        snapshot.nextAlarmPollAt = nil
        snapshot.pausedAt = nil
        record(now, "RollbackStarted", "\(code): \(message)")
        return [.persist, .rollback(toVersion: snapshot.configuration.fromVersion)]
    }

    private mutating func rollbackApplied(status: DeploymentStatus, error: DeploymentError, now: Double) -> [Action] {
        snapshot.rolledBack = true
        snapshot.weight = 0
        snapshot.rollbackRetryAt = nil
        record(now, "RollbackApplied", "alias back on \(snapshot.configuration.fromVersion)")
        return finish(status, error, now: now, rolledBack: true)
    }

    private mutating func finish(
        _ status: DeploymentStatus, _ error: DeploymentError?, now: Double, rolledBack: Bool = false,
        notifying earlier: [NotificationEvent] = []
    ) -> [Action] {
        snapshot.phase = .finished
        snapshot.status = status
        snapshot.error = error
        snapshot.completedAt = now
        snapshot.hookStartedAt = nil
        snapshot.nextAlarmPollAt = nil
        snapshot.pausedAt = nil
        record(now, status.rawValue, error.map { "\($0.code): \($0.message)" } ?? "")
        var notifications = earlier.flatMap { notify($0) }
        if rolledBack { notifications += notify(.deploymentRollback) }
        switch status {
        case .succeeded: notifications += notify(.deploymentSuccess)
        case .stopped: notifications += notify(.deploymentStop)
        case .failed, .created, .inProgress: notifications += notify(.deploymentFailure)
        }
        return [.persist] + notifications + [.complete(status)]
    }

    // MARK: - Helpers

    /// Marks `event` as notified; returns the action only the first time.
    private mutating func notify(_ event: NotificationEvent) -> [Action] {
        snapshot.notified.insert(event).inserted ? [.notify(event)] : []
    }

    private func effects(_ effect: Action?) -> [Action] {
        effect.map { [$0] } ?? []
    }

    private mutating func record(_ at: Double, _ type: String, _ detail: String) {
        snapshot.events.append(DeploymentEvent(at: at, type: type, detail: detail))
    }
}
