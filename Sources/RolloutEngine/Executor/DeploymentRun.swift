import Logging
import RolloutCore

/// What a deployment's run loop is told.
enum RunMessage: Sendable {
    /// Feed the event made at the current time; `ack` gets the status once its actions ran.
    case event(@Sendable (Double) -> RolloutStateMachine.Event, ack: (@Sendable (DeploymentStatus) -> Void)?)
    /// After a restart: read the alias and reconcile the record with it.
    case reconcile
    /// Fleet mode: this daemon adopted the deployment under lease `epoch`; record it, then
    /// reconcile as after a restart.
    case adopted(node: String, epoch: Int64)
    /// Fleet mode: sent every ``RolloutRecordStore/checkInInterval``; a run loop that answers
    /// it is not stuck (``RolloutRecordStore/checkIn(_:)``).
    case heartbeat
}

/// The services a run loop calls.
struct RunDependencies: Sendable {
    let lambda: any LambdaControl
    let alarms: (any AlarmStateReader)?
    let notifier: RolloutNotifier
    let store: any RolloutRecordStore
    let now: @Sendable () -> Double
    let logger: Logger
    let reconcileRetrySeconds: Double
}

/// A running deployment: its mailbox, the task that drains it, and the tasks it starts (hooks,
/// alarm polls, the step timer), which end before it does.
final class DeploymentRun: Sendable {
    let deploymentId: String
    let function: String
    let alias: String
    let inbox: AsyncStream<RunMessage>.Continuation
    private let stream: AsyncStream<RunMessage>
    private let children = OwnedTasks()

    init(record: RolloutRecord) {
        deploymentId = record.deploymentId
        function = record.function
        alias = record.alias
        (stream, inbox) = AsyncStream.makeStream(of: RunMessage.self)
    }

    /// Drains the mailbox until the deployment is terminal (or the task is cancelled at shutdown),
    /// then ends the tasks it started: their outcomes arrive after the mailbox closed and are dropped.
    func run(
        record: RolloutRecord, machine: RolloutStateMachine, revisionId: String?, dependencies: RunDependencies,
        engine: NativeRolloutEngine
    ) async {
        var executor = DeploymentExecutor(
            record: record, machine: machine, revisionId: revisionId, dependencies: dependencies, inbox: inbox,
            children: children, engine: engine
        )
        var metrics = DeploymentMetrics(deploymentId: deploymentId, machine: machine)
        defer { metrics.end() }
        if let interval = dependencies.store.checkInInterval {
            let inbox = inbox
            children.spawn {
                while !Task.isCancelled {
                    try? await Task.sleep(for: interval)
                    inbox.yield(.heartbeat)
                }
            }
        }
        for await message in stream {
            await dependencies.store.checkIn(deploymentId)
            switch message {
            case .event(let make, let ack):
                await executor.handle(make(dependencies.now()))
                metrics.observe(executor.machine)
                ack?(executor.machine.status)
            case .reconcile:
                await executor.reconcile()
                metrics.observe(executor.machine)
            case .adopted(let node, let epoch):
                await executor.handle(.adopted(node: node, epoch: epoch, now: dependencies.now()))
                await executor.reconcile()
                metrics.observe(executor.machine)
            case .heartbeat:
                break
            }
            // Abandoned: the lease passed to another daemon, which drives the deployment now.
            if Task.isCancelled || executor.abandoned || executor.machine.phase == .finished { break }
        }
        executor.stopTimers()
        inbox.finish()
        // Commands that raced with the end still get an answer.
        for await message in stream {
            if case .event(_, let ack) = message { ack?(executor.machine.status) }
        }
        await children.shutdown()
        await engine.runEnded(deploymentId)
    }
}

/// Performs a state machine's actions for one deployment. Owned by its run loop (not shared),
/// so it needs no locking; hooks, alarm polls and timers run as tasks of the run (`children`)
/// that post their outcome back into the mailbox.
struct DeploymentExecutor {
    private(set) var record: RolloutRecord
    private(set) var machine: RolloutStateMachine
    /// The alias `RevisionId` our last change produced: the fence for the next shift.
    private var revisionId: String?
    private let dependencies: RunDependencies
    private let inbox: AsyncStream<RunMessage>.Continuation
    private let children: OwnedTasks
    private let engine: NativeRolloutEngine
    private var timer: Task<Void, Never>?
    private var hookInvocations = 0
    /// The store said this daemon no longer drives the deployment (a failed fence or a save
    /// refused for a lost lease): nothing more is changed, and the run loop ends.
    private(set) var abandoned = false

    init(
        record: RolloutRecord, machine: RolloutStateMachine, revisionId: String?, dependencies: RunDependencies,
        inbox: AsyncStream<RunMessage>.Continuation, children: OwnedTasks, engine: NativeRolloutEngine
    ) {
        self.record = record
        self.machine = machine
        self.revisionId = revisionId
        self.dependencies = dependencies
        self.inbox = inbox
        self.children = children
        self.engine = engine
    }

    private var logger: Logger {
        var logger = dependencies.logger
        logger[metadataKey: "rollout.id"] = "\(record.deploymentId)"
        return logger
    }

    mutating func stopTimers() {
        timer?.cancel()
        timer = nil
    }

    /// Feeds one event and performs the resulting actions, then the events those produce.
    mutating func handle(_ event: RolloutStateMachine.Event) async {
        await execute(machine.handle(event))
    }

    /// After a restart: reads the alias (retrying until it can) and reconciles.
    mutating func reconcile() async {
        if machine.phase == .created {
            await handle(.start(now: dependencies.now()))
            return
        }
        while !Task.isCancelled {
            do {
                let alias = try await dependencies.lambda.getAlias(function: record.function, alias: record.alias)
                revisionId = alias.revisionId
                await execute(
                    machine.reconcile(aliasVersion: alias.functionVersion, additionalWeights: alias.additionalWeights, now: dependencies.now())
                )
                return
            } catch {
                if error.code == .requestCancelled { return }
                logger.warning("cannot read the alias to reconcile; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(dependencies.reconcileRetrySeconds))
                await dependencies.store.checkIn(record.deploymentId)
            }
        }
    }

    private mutating func execute(_ initial: [RolloutStateMachine.Action]) async {
        // Watchers (rollout.wait, rollout.get) see a state once its whole batch ran, so a
        // waiter told "Succeeded" knows that step's notifications went out too.
        var pending: [RolloutStateMachine.Event] = []
        if await perform(initial, followUps: &pending) { await publish() }
        while !pending.isEmpty, !Task.isCancelled, !abandoned {
            let event = pending.removeFirst()
            if await perform(machine.handle(event), followUps: &pending) { await publish() }
        }
    }

    private func publish() async {
        if machine.phase == .finished, !abandoned { await dependencies.store.finished(record.deploymentId) }
        await engine.published(record: record, machine: machine)
    }

    /// Performs one batch of actions; true when it wrote the record.
    private mutating func perform(_ actions: [RolloutStateMachine.Action], followUps: inout [RolloutStateMachine.Event]) async -> Bool {
        var persisted = false
        for action in actions {
            if Task.isCancelled || abandoned { return persisted }
            await dependencies.store.checkIn(record.deploymentId)
            switch action {
            case .persist:
                guard await persist() else {
                    // Nothing is applied that the record does not show; the next start reconciles.
                    logger.critical("cannot write the deployment record; its effects are held back")
                    return persisted
                }
                persisted = true
            case .notify(let event):
                // Not cancelled by shutdown: publishing and marking as sent belong together.
                let notifier = dependencies.notifier
                let record = currentRecord
                await Task { await notifier.publish(event, record: record) }.value
            case .invokeHook(let hook):
                // A hook acts on the deployment too: only the lease's current holder invokes it.
                guard await holdsLease(before: "the \(hook.rawValue) hook") else { return persisted }
                startHook(hook)
            case .applyWeight(let weight):
                guard let event = await updateAlias(
                    primary: record.fromVersion, weights: [record.toVersion: weight], fenced: true,
                    applied: { .shiftApplied(weight: weight, revisionId: $0, now: $1) },
                    failed: { .shiftFailed(reason: $0, now: $1) }
                ) else { return persisted }
                followUps.append(event)
            case .setPrimary(let version):
                guard let event = await updateAlias(
                    primary: version, weights: [:], fenced: true,
                    applied: { .shiftApplied(weight: 1, revisionId: $0, now: $1) },
                    failed: { .shiftFailed(reason: $0, now: $1) }
                ) else { return persisted }
                followUps.append(event)
            case .rollback(let version):
                // A rollback is not fenced: whoever changed the alias, it goes back to the old version.
                guard let event = await updateAlias(
                    primary: version, weights: [:], fenced: false,
                    applied: { _, now in .rollbackApplied(now: now) },
                    failed: { .rollbackFailed(reason: $0, now: $1) }
                ) else { return persisted }
                followUps.append(event)
            case .scheduleTick(let at):
                schedule(at: at)
            case .pollAlarms:
                startAlarmPoll()
            case .complete(let status):
                logger.info("deployment ended", metadata: ["status": "\(status.rawValue)"])
            }
        }
        return persisted
    }

    private var currentRecord: RolloutRecord {
        var record = record
        record.snapshot = machine.snapshot
        record.status = machine.status
        return record
    }

    /// Writes the snapshot; true when it is durable. Retries a few times (a busy database).
    private mutating func persist() async -> Bool {
        let logged = record.snapshot?.events.count ?? 0
        record = currentRecord
        for attempt in 1...5 {
            if attempt > 1 { await dependencies.store.checkIn(record.deploymentId) }
            do {
                try await dependencies.store.save(record)
                for event in (record.snapshot?.events ?? []).dropFirst(logged) {
                    logger.info("rollout event", metadata: ["event": "\(event.type)", "detail": "\(event.detail)"])
                }
                return true
            } catch {
                if error.code == .preconditionFailed {
                    logger.warning("this daemon no longer drives the deployment; it stops", metadata: ["error": "\(error)"])
                    abandoned = true
                    return false
                }
                logger.error("cannot write the deployment record", metadata: ["error": "\(error)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .milliseconds(200 * attempt))
            }
        }
        return false
    }

    /// `UpdateAlias`; returns the follow-up event, or nil when the task was cancelled (shutdown:
    /// the record stays as it is and the next start reconciles).
    private mutating func updateAlias(
        primary: String, weights: [String: Double], fenced: Bool,
        applied: (String?, Double) -> RolloutStateMachine.Event,
        failed: (String, Double) -> RolloutStateMachine.Event
    ) async -> RolloutStateMachine.Event? {
        guard await holdsLease(before: "the alias change") else { return nil }
        do {
            let alias = try await dependencies.lambda.updateAlias(
                function: record.function, alias: record.alias, functionVersion: primary, additionalWeights: weights,
                revisionId: fenced ? revisionId : nil
            )
            revisionId = alias.revisionId
            return applied(alias.revisionId, dependencies.now())
        } catch {
            if error.code == .requestCancelled || Task.isCancelled { return nil }
            logger.warning("UpdateAlias failed", metadata: ["error": "\(error)"])
            let reason = error.code == .preconditionFailed
                ? "the alias changed under the deployment (stale RevisionId): \(error.message)" : error.description
            return failed(reason, dependencies.now())
        }
    }

    /// The fence right before a side effect (``RolloutRecordStore/fence(_:)``, a write
    /// conditional on the lease epoch in fleet mode): false, and the run loop stops changing
    /// anything, when this daemon no longer holds the deployment.
    private mutating func holdsLease(before effect: String) async -> Bool {
        guard await dependencies.store.fence(record.deploymentId) else {
            logger.warning("the deployment's lease is not held: nothing more is changed, the run loop stops", metadata: ["effect": "\(effect)"])
            abandoned = true
            return false
        }
        await dependencies.store.checkIn(record.deploymentId)
        return true
    }

    private mutating func schedule(at: Double) {
        timer?.cancel()
        let delay = max(0, at - dependencies.now())
        let inbox = inbox
        timer = children.spawn {
            try? await Task.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up)) + 5))
            guard !Task.isCancelled else { return }
            inbox.yield(.event({ .tick(now: $0) }, ack: nil))
        }
    }

    private mutating func startHook(_ hook: Hook) {
        guard let function = record.request.hooks?.function(for: hook) else {
            inbox.yield(.event({ .hookFinished(hook, succeeded: false, detail: "no function configured", now: $0) }, ack: nil))
            return
        }
        hookInvocations += 1
        let executionId = "\(record.deploymentId)-\(hook.rawValue)-\(Int64(dependencies.now() * 1000))-\(hookInvocations)"
        let payload: JSONValue = .object([
            "DeploymentId": .string(record.deploymentId),
            "LifecycleEventHookExecutionId": .string(executionId),
            "function": .string(record.function),
            "alias": .string(record.alias),
            "currentVersion": .string(record.fromVersion),
            "targetVersion": .string(record.toVersion),
            "hook": .string(hook.rawValue),
        ])
        let lambda = dependencies.lambda
        let inbox = inbox
        let logger = logger
        children.spawn {
            let (succeeded, detail) = await Self.invokeHook(lambda: lambda, function: function, payload: payload.serialized())
            logger.info("hook finished", metadata: ["hook": "\(hook.rawValue)", "succeeded": "\(succeeded)", "detail": "\(detail)"])
            inbox.yield(.event({ .hookFinished(hook, succeeded: succeeded, detail: detail, now: $0) }, ack: nil))
        }
    }

    /// A hook fails when the invocation errors (`FunctionError` or non-2xx) or returns a JSON
    /// object whose `status` is `Failed` (SPEC §4.6).
    static func invokeHook(lambda: any LambdaControl, function: String, payload: [UInt8]) async -> (Bool, String) {
        do {
            let result = try await lambda.invoke(function: function, payload: payload)
            if let functionError = result.functionError {
                return (false, "\(function) raised (\(functionError)): \(Self.excerpt(result.payload))")
            }
            guard (200..<300).contains(result.statusCode) else {
                return (false, "\(function) answered HTTP \(result.statusCode)")
            }
            if case .object(let object)? = try? JSONParser.parse(result.payload), case .string(let status)? = object["status"] {
                if status == "Failed" { return (false, "\(function) returned status Failed: \(Self.excerpt(result.payload))") }
                return (true, "\(function) returned status \(status)")
            }
            return (true, "\(function) returned")
        } catch {
            return (false, "invoking \(function) failed: \(error)")
        }
    }

    private static func excerpt(_ payload: [UInt8]) -> String {
        let text = String(decoding: payload.prefix(300), as: UTF8.self)
        return payload.count > 300 ? text + "…" : text
    }

    private func startAlarmPoll() {
        let names = record.request.alarms ?? []
        guard let alarms = dependencies.alarms, !names.isEmpty else { return }
        let inbox = inbox
        let logger = logger
        children.spawn {
            do {
                let states = try await alarms.alarmStates(names: names)
                inbox.yield(.event({ .alarmStates(states, now: $0) }, ack: nil))
            } catch {
                logger.warning("cannot read the alarms; the next poll tries again", metadata: ["error": "\(error)"])
            }
        }
    }
}
