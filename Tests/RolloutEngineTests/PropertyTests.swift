import RolloutCore
import RolloutEngine
import RolloutTestSupport
import Testing

/// A model Lambda alias and an executor that performs actions in order, with random outcomes,
/// random interleaved events and random crashes (restore from the JSON snapshot + reconcile).
struct Simulation {
    var machine: RolloutStateMachine
    var random: SplitMix64
    var primary = "1"
    var weights: [String: Double] = [:]
    var queue: [Action] = []
    var tickAt: Double?
    var now: Double = 1000
    var notifications: [NotificationEvent] = []
    var crashes = 0

    mutating func take(_ actions: [Action]) {
        if actions.contains(where: { $0.isAliasChange || $0 == .invokeHook(.beforeTraffic) || $0 == .invokeHook(.afterTraffic) }) {
            #expect(actions.first == .persist, "persist must precede effects: \(actions)")
        }
        for action in actions {
            switch action {
            case .persist, .complete: break
            case .notify(let event): notifications.append(event)
            case .scheduleTick(let at): tickAt = at
            default: queue.append(action)
            }
        }
    }

    mutating func send(_ event: Event) {
        take(machine.handle(event))
    }

    mutating func chance(_ percent: Int) -> Bool {
        Int.random(in: 0..<100, using: &random) < percent
    }

    /// Performs the oldest queued action and reports its outcome.
    mutating func executeFront() {
        let action = queue.removeFirst()
        now += Double.random(in: 0...2, using: &random)
        let succeeds = chance(90)
        switch action {
        case .applyWeight(let weight):
            guard succeeds else { return send(.shiftFailed(reason: "refused", now: now)) }
            weights = ["2": weight]
            send(.shiftApplied(weight: weight, revisionId: nil, now: now))
        case .setPrimary(let version):
            guard succeeds else { return send(.shiftFailed(reason: "refused", now: now)) }
            (primary, weights) = (version, [:])
            send(.shiftApplied(weight: 1, revisionId: nil, now: now))
        case .rollback(let version):
            guard succeeds else { return send(.rollbackFailed(reason: "throttled", now: now)) }
            (primary, weights) = (version, [:])
            send(.rollbackApplied(now: now))
        case .invokeHook(let hook):
            send(chance(5) ? .hookTimedOut(hook, now: now) : .hookFinished(hook, succeeded: chance(90), detail: "", now: now))
        case .pollAlarms:
            send(.alarmStates(["errors": chance(5) ? "ALARM" : "OK", "latency": "INSUFFICIENT_DATA"], now: now))
        default:
            break
        }
    }

    /// A SIGKILL: maybe the in-flight alias change happened, the rest of the queue is lost.
    mutating func crash() throws {
        if let front = queue.first, chance(50) {
            switch front {
            case .applyWeight(let weight): weights = ["2": weight]
            case .setPrimary(let version), .rollback(let version): (primary, weights) = (version, [:])
            default: break
            }
        }
        queue = []
        tickAt = nil
        crashes += 1
        now += Double.random(in: 0...400, using: &random)
        machine = try restarted(machine)
        take(machine.reconcile(aliasVersion: primary, additionalWeights: weights, now: now))
    }

    mutating func step() throws {
        let roll = Int.random(in: 0..<100, using: &random)
        switch roll {
        case 0..<55 where !queue.isEmpty: executeFront()
        case 0..<75:
            if let tickAt {
                now = max(now, tickAt) + Double.random(in: 0...1, using: &random)
                send(.tick(now: now))
            }
        case 75..<78: send(.stop(now: now))
        case 78..<82: send(.promote(now: now))
        case 82..<87: send(.pause(now: now))
        case 87..<93: send(.resume(now: now))
        case 93..<96: try crash()
        case 96..<98: send(.hookFinished(chance(50) ? .beforeTraffic : .afterTraffic, succeeded: chance(50), detail: "stray", now: now))
        default: send(.start(now: now))
        }
    }
}

@Suite struct PropertyTests {
    static let strategies: [Strategy] = [
        .allAtOnce, .canary(percent: 10, intervalSeconds: 60), .linear(percent: 25, intervalSeconds: 30),
        .linear(percent: 10, intervalSeconds: 5),
    ]

    @Test func terminalStatesNeverLeaveTheAliasSplit() throws {
        var outcomes: [DeploymentStatus: Int] = [:]
        var errors: Set<DeploymentErrorCode> = []
        var crashes = 0
        for seed in 0..<1000 {
            let simulation = try simulate(seed: UInt64(seed))
            let snapshot = simulation.machine.snapshot
            outcomes[snapshot.status, default: 0] += 1
            if let code = snapshot.error?.code { errors.insert(code) }
            crashes += simulation.crashes
            #expect(snapshot.status.isTerminal, "seed \(seed) did not finish: \(snapshot.phase)")
            #expect(simulation.weights.isEmpty, "seed \(seed) left the alias split")
            #expect(simulation.primary == (snapshot.status == .succeeded ? "2" : "1"), "seed \(seed): \(snapshot.status)")
            #expect(snapshot.rolledBack == (snapshot.status != .succeeded))
            #expect(snapshot.weight == (snapshot.status == .succeeded ? 1 : 0))
            #expect(Set(simulation.notifications).count == simulation.notifications.count, "seed \(seed): \(simulation.notifications)")
            #expect(simulation.notifications.first == .deploymentStart)
            #expect(simulation.machine.nextWakeUp == nil)
        }
        // The sequences reach every ending and really do crash.
        #expect(outcomes.keys.sorted { $0.rawValue < $1.rawValue } == [.failed, .stopped, .succeeded])
        #expect(errors.isSuperset(of: [.hookExecutionFailure, .alarmActive, .manualStop, .internalError]))
        #expect(crashes > 100)
    }

    private func simulate(seed: UInt64) throws -> Simulation {
        var random = SplitMix64(seed: seed)
        let strategy = Self.strategies[Int.random(in: 0..<Self.strategies.count, using: &random)]
        let hooks = Set(Hook.allCases.filter { _ in Bool.random(using: &random) })
        let alarms = Bool.random(using: &random) ? ["errors", "latency"] : []
        var simulation = Simulation(machine: try makeMachine(strategy, hooks: hooks, alarms: alarms), random: random)
        simulation.send(.start(now: simulation.now))
        var steps = 0
        while !simulation.machine.status.isTerminal && steps < 5000 {
            try simulation.step()
            steps += 1
        }
        return simulation
    }
}
