public import Logging
public import RolloutCore
import RolloutCrypto

/// The native engine (SPEC §4.6): runs each deployment's state machine, one run loop per
/// deployment, and answers queries from the latest persisted snapshot.
///
/// Every step is written to the ``RolloutRecordStore`` before it is applied; ``recover()``
/// (at startup) reconciles each unfinished deployment with its alias and continues it on its
/// original schedule, and publishes notifications a crash left unsent. ``shutdown()`` ends every
/// task the engine started: the run loops and, through them, their hooks, alarm polls and timers.
public actor NativeRolloutEngine {
    /// Tunables.
    public struct Settings: Sendable {
        /// Seconds between CloudWatch polls (`[cloud.aws.rollout].alarm_poll_secs`).
        public var alarmPollSeconds: Int
        /// Added to plan length and hook timeouts to form a deployment's deadline.
        public var deadlineMarginSeconds: Int
        /// Pause between attempts to read the alias after a restart.
        public var reconcileRetrySeconds: Double

        /// Creates settings.
        public init(alarmPollSeconds: Int = 10, deadlineMarginSeconds: Int = 300, reconcileRetrySeconds: Double = 5) {
            self.alarmPollSeconds = alarmPollSeconds
            self.deadlineMarginSeconds = deadlineMarginSeconds
            self.reconcileRetrySeconds = reconcileRetrySeconds
        }
    }

    private enum State {
        case running
        case shutDown
    }

    let dependencies: RunDependencies
    private let settings: Settings
    private var state = State.running
    private var runs: [String: DeploymentRun] = [:]
    /// The tasks of the run loops, to end one whose deployment passed to another daemon.
    private var runTasks: [String: Task<Void, Never>] = [:]
    /// Run loops told to stop because another daemon drives their deployment now.
    private var abandoned: Set<String> = []
    /// The run loops, and the tasks that drop a waiter that went away.
    private let tasks = OwnedTasks()
    private var latest: [String: Deployment] = [:]
    private var watchers: [String: [UInt64: AsyncStream<Deployment>.Continuation]] = [:]
    private var nextWatcher: UInt64 = 0

    /// An engine over these services. `now` is the wall clock (seconds since the epoch).
    public init(
        lambda: any LambdaControl, alarms: (any AlarmStateReader)?, publisher: (any NotificationPublisher)?,
        store: any RolloutRecordStore, settings: Settings = Settings(), logger: Logger,
        now: @escaping @Sendable () -> Double
    ) {
        self.settings = settings
        self.dependencies = RunDependencies(
            lambda: lambda, alarms: alarms, notifier: RolloutNotifier(publisher: publisher, store: store, now: now, logger: logger),
            store: store, now: now, logger: logger, reconcileRetrySeconds: settings.reconcileRetrySeconds
        )
    }

    // MARK: - Lifecycle

    /// At startup: continues every unfinished native deployment and publishes notifications a
    /// crash left unsent.
    public func recover() async throws(RolloutError) {
        let active = try await dependencies.store.active().filter { $0.engine == .native }
        for record in active {
            guard let snapshot = record.snapshot, runs[record.deploymentId] == nil else { continue }
            guard await dependencies.store.drives(record.deploymentId), runs[record.deploymentId] == nil else { continue }
            guard let run = launch(record: record, machine: RolloutStateMachine(restoring: snapshot), revisionId: nil) else { return }
            run.inbox.yield(.reconcile)
            dependencies.logger.info("resuming deployment", metadata: ["rollout.id": "\(record.deploymentId)"])
        }
        for (record, events) in try await dependencies.store.unsentNotifications() where record.engine == .native {
            guard await dependencies.store.drives(record.deploymentId) else { continue }
            for event in events { await dependencies.notifier.publish(event, record: record) }
        }
    }

    /// Fleet mode: this daemon adopted `record`'s deployment under lease `epoch` (its driver
    /// stopped renewing). Records the adoption, reconciles the alias as after a restart and
    /// continues on the original schedule (or rolls back when a deadline passed), then publishes
    /// the notifications the previous driver decided but did not send.
    public func adopt(_ record: RolloutRecord, node: String, epoch: Int64) async {
        guard record.engine == .native, let snapshot = record.snapshot, runs[record.deploymentId] == nil else { return }
        dependencies.logger.info("adopted deployment", metadata: ["rollout.id": "\(record.deploymentId)", "epoch": "\(epoch)"])
        if record.status.isTerminal {
            // Its driver recorded the end but did not free the alias: publish what it did not, then free it.
            await publishUnsent(record, snapshot: snapshot)
            await dependencies.store.finished(record.deploymentId)
            return
        }
        guard let run = launch(record: record, machine: RolloutStateMachine(restoring: snapshot), revisionId: nil) else { return }
        run.inbox.yield(.adopted(node: node, epoch: epoch))
        await publishUnsent(record, snapshot: snapshot)
    }

    private func publishUnsent(_ record: RolloutRecord, snapshot: RolloutStateMachine.Snapshot) async {
        let decided = snapshot.notified
        guard !decided.isEmpty, let sent = try? await dependencies.store.sentNotifications(record.deploymentId) else { return }
        for event in NotificationEvent.allCases where decided.contains(event) && !sent.contains(event) {
            await dependencies.notifier.publish(event, record: record)
        }
    }

    /// Fleet mode: another daemon drives the deployment now (this one lost its lease). Ends
    /// its run loop at once, changing nothing more; queries read the shared store from then on.
    public func abandon(_ deploymentId: String) {
        guard let task = runTasks[deploymentId] else { return }
        abandoned.insert(deploymentId)
        task.cancel()
        dependencies.logger.warning("stopped driving the deployment: this daemon no longer holds its lease (lost, unconfirmed, or its run loop stopped checking in)", metadata: ["rollout.id": "\(deploymentId)"])
    }

    /// True once ``shutdown()`` began.
    var isShutDown: Bool { state == .shutDown }

    /// Whether a run loop of this engine drives the deployment now.
    public func isDriving(_ deploymentId: String) -> Bool {
        runs[deploymentId] != nil
    }

    /// Stops every run loop (their records stay; the next start reconciles them) and returns
    /// once every task the engine started has ended; waiters get Unavailable.
    public func shutdown() async {
        state = .shutDown
        await tasks.shutdown()
        for (_, continuations) in watchers {
            for continuation in continuations.values { continuation.finish() }
        }
        watchers = [:]
    }

    // MARK: - Commands

    /// The native deployment this engine is running on `function`+`alias`, if any (its record
    /// may already show it ended).
    public func activeDeployment(function: String, alias: String) -> String? {
        let name = FunctionName.normalized(function)
        return runs.values.first { FunctionName.normalized($0.function) == name && $0.alias == alias }?.deploymentId
    }

    /// Records and starts a deployment whose preflight passed; returns its id and the status
    /// after the first step (`InProgress`, or `Succeeded` when skipped).
    ///
    /// - Parameter deploymentId: the id to give it (a keyed start derives it from its
    ///   idempotency key, so a retry after a crash can look the deployment up); a new random id
    ///   when nil.
    public func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, revisionId: String?, deploymentId: String? = nil
    ) async throws(RolloutError) -> (deploymentId: String, status: DeploymentStatus) {
        guard state == .running else { throw RolloutError(.unavailable, "the daemon is shutting down") }
        let hooks = Set(Hook.allCases.filter { request.hooks?.function(for: $0) != nil })
        let configuration = RolloutStateMachine.Configuration(
            fromVersion: fromVersion, toVersion: toVersion, strategy: request.strategy, hooks: hooks,
            hookTimeoutSeconds: request.hooks?.timeoutSeconds ?? 3600, alarms: request.alarms ?? [],
            alarmPollSeconds: settings.alarmPollSeconds, deadlineMarginSeconds: settings.deadlineMarginSeconds
        )
        let machine = try RolloutStateMachine(configuration)
        let record = RolloutRecord(
            deploymentId: deploymentId ?? Self.newDeploymentId(), engine: .native, request: request, fromVersion: fromVersion,
            toVersion: toVersion, createdAt: dependencies.now(), status: .created, snapshot: machine.snapshot
        )
        if let active = try await dependencies.store.create(record) {
            throw RolloutError.activeDeployment(active, function: request.function, alias: request.alias)
        }
        guard let run = launch(record: record, machine: machine, revisionId: revisionId) else {
            // Shut down while the record was written: the next start resumes the deployment.
            throw RolloutError(.unavailable, "the daemon is shutting down")
        }
        let status = await send({ .start(now: $0) }, to: run, deploymentId: record.deploymentId)
        return (record.deploymentId, status)
    }

    /// `rollout.stop`: rolls back and returns the status after the rollback (`Stopped`), or
    /// the status of a deployment that had already ended.
    public func stop(_ deploymentId: String) async throws(RolloutError) -> DeploymentStatus {
        try await command(deploymentId) { .stop(now: $0) }
    }

    /// `rollout.promote`: the next step is the 100% step.
    public func promote(_ deploymentId: String) async throws(RolloutError) -> DeploymentStatus {
        try await command(deploymentId) { .promote(now: $0) }
    }

    /// `rollout.pause`: no new steps (alarms are still watched) until resumed.
    public func pause(_ deploymentId: String) async throws(RolloutError) -> DeploymentStatus {
        try await command(deploymentId) { .pause(now: $0) }
    }

    /// `rollout.resume`.
    public func resume(_ deploymentId: String) async throws(RolloutError) -> DeploymentStatus {
        try await command(deploymentId) { .resume(now: $0) }
    }

    private func command(
        _ deploymentId: String, _ event: @escaping @Sendable (Double) -> RolloutStateMachine.Event
    ) async throws(RolloutError) -> DeploymentStatus {
        if runs[deploymentId] == nil, state == .running, let record = try await dependencies.store.load(deploymentId),
            record.engine == .native, !record.status.isTerminal, let snapshot = record.snapshot, runs[deploymentId] == nil,
            await dependencies.store.drives(deploymentId), runs[deploymentId] == nil
        {
            // A command that arrives before recover() reached this deployment starts its run
            // loop; the reconcile is queued ahead of the command.
            launch(record: record, machine: RolloutStateMachine(restoring: snapshot), revisionId: nil)?.inbox.yield(.reconcile)
        }
        if let run = runs[deploymentId] {
            return await send(event, to: run, deploymentId: deploymentId)
        }
        return try await deployment(deploymentId).status
    }

    private func send(
        _ event: @escaping @Sendable (Double) -> RolloutStateMachine.Event, to run: DeploymentRun, deploymentId: String
    ) async -> DeploymentStatus {
        let fallback = latest[deploymentId]?.status ?? .created
        return await withCheckedContinuation { continuation in
            let result = run.inbox.yield(.event(event, ack: { continuation.resume(returning: $0) }))
            if case .terminated = result { continuation.resume(returning: fallback) }
        }
    }

    // MARK: - Queries

    /// The deployment; NotFound when no native deployment has this id.
    public func deployment(_ deploymentId: String) async throws(RolloutError) -> Deployment {
        if let deployment = latest[deploymentId] { return deployment }
        guard let record = try await dependencies.store.load(deploymentId), record.engine == .native, let snapshot = record.snapshot
        else {
            throw RolloutError.notFound("no deployment \(deploymentId)")
        }
        return Deployment(record: record, machine: RolloutStateMachine(restoring: snapshot))
    }

    /// The latest wire form of a record of this engine (live when it is running).
    public func deployment(for record: RolloutRecord) throws(RolloutError) -> Deployment {
        if let deployment = latest[record.deploymentId] { return deployment }
        guard let snapshot = record.snapshot else {
            throw RolloutError.internalError("deployment \(record.deploymentId) has no state")
        }
        return Deployment(record: record, machine: RolloutStateMachine(restoring: snapshot))
    }

    /// The wait limit when `rollout.wait` gives none: until the deployment's own deadline
    /// (plan + hook timeouts + margin, moved by pauses) plus a minute, at least a minute.
    public func defaultWaitSeconds(_ deploymentId: String) async throws(RolloutError) -> Double {
        guard let record = try await dependencies.store.load(deploymentId), let snapshot = record.snapshot else {
            throw RolloutError.notFound("no deployment \(deploymentId)")
        }
        let machine = RolloutStateMachine(restoring: snapshot)
        let deadline = machine.deadline ?? (dependencies.now() + Double(settings.deadlineMarginSeconds))
        return max(60, deadline - dependencies.now() + 60)
    }

    /// Subscribes to a deployment's updates: the current state and a stream of every later
    /// state, which ends after the terminal one.
    public func watch(_ deploymentId: String) async throws(RolloutError) -> (current: Deployment, updates: AsyncStream<Deployment>) {
        let current = try await deployment(deploymentId)
        let (stream, continuation) = AsyncStream.makeStream(of: Deployment.self, bufferingPolicy: .bufferingNewest(256))
        guard !current.status.isTerminal, runs[deploymentId] != nil else {
            continuation.finish()
            return (current, stream)
        }
        nextWatcher += 1
        let token = nextWatcher
        watchers[deploymentId, default: [:]][token] = continuation
        let tasks = tasks
        continuation.onTermination = { _ in
            tasks.spawn { await self.unwatch(deploymentId, token) }
        }
        return (latest[deploymentId] ?? current, stream)
    }

    private func unwatch(_ deploymentId: String, _ token: UInt64) {
        watchers[deploymentId]?[token] = nil
        if watchers[deploymentId]?.isEmpty == true { watchers[deploymentId] = nil }
    }

    // MARK: - Run loops

    /// Starts the run loop of a deployment; nil once the engine is shut down.
    private func launch(record: RolloutRecord, machine: RolloutStateMachine, revisionId: String?) -> DeploymentRun? {
        guard state == .running else { return nil }
        let run = DeploymentRun(record: record)
        runs[record.deploymentId] = run
        latest[record.deploymentId] = Deployment(record: record, machine: machine)
        let dependencies = dependencies
        runTasks[record.deploymentId] = tasks.spawn {
            await run.run(record: record, machine: machine, revisionId: revisionId, dependencies: dependencies, engine: self)
        }
        return run
    }

    /// A run loop wrote a new snapshot.
    func published(record: RolloutRecord, machine: RolloutStateMachine) {
        let deployment = Deployment(record: record, machine: machine)
        latest[record.deploymentId] = deployment
        for continuation in watchers[record.deploymentId]?.values ?? [:].values {
            continuation.yield(deployment)
            if deployment.status.isTerminal { continuation.finish() }
        }
        if deployment.status.isTerminal { watchers[record.deploymentId] = nil }
    }

    /// A run loop ended (terminal, or cancelled at shutdown).
    func runEnded(_ deploymentId: String) {
        runs[deploymentId] = nil
        runTasks[deploymentId] = nil
        let wasAbandoned = abandoned.remove(deploymentId) != nil
        if latest[deploymentId]?.status.isTerminal == true || state == .shutDown || wasAbandoned {
            latest[deploymentId] = nil
        }
        for continuation in watchers[deploymentId]?.values ?? [:].values { continuation.finish() }
        watchers[deploymentId] = nil
    }

    /// `d-` and 12 characters from [A-Z0-9], as CodeDeploy's ids look.
    static func newDeploymentId() -> String {
        var generator = SystemRandomNumberGenerator()
        return "d-" + String((0..<12).map { _ in idAlphabet[Int(generator.next(upperBound: UInt64(idAlphabet.count)))] })
    }

    /// The deployment id of a keyed start, derived from its call (SPEC §3.2) so that a retry
    /// after a crash finds the deployment: `d-` and one character from [A-Z0-9] per byte of
    /// the first 12 bytes of the SHA-256 of the call's identity.
    public static func deploymentId(for call: IdempotentCall) -> String {
        "d-" + String(Digest.sha256(call.identity).prefix(12).map { idAlphabet[Int($0) % idAlphabet.count] })
    }

    private static let idAlphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
}
