import Foundation
import Logging
import RolloutCore
import RolloutEngine
import Synchronization

// In-memory stand-ins for Lambda, CloudWatch, SNS and the SQLite records, so the native
// engine's executor can be tested without I/O. They record every call for the assertions.

final class FakeLambda: LambdaControl {
    struct Update: Equatable {
        var primary: String
        var weights: [String: Double]
        var fence: String?
    }

    private struct State {
        var alias = LambdaAlias(functionVersion: "1", revisionId: "rev-0")
        var revision = 0
        var updates: [Update] = []
        var failures: [RolloutError] = []
        var invocations: [(function: String, payload: JSONValue)] = []
        var invokeResults: [LambdaInvocation] = []
        var versions: Set<String> = ["1", "2", "$LATEST"]
    }

    private let state = Mutex(State())

    var alias: LambdaAlias { state.withLock { $0.alias } }
    var updates: [Update] { state.withLock { $0.updates } }
    var invocations: [(function: String, payload: JSONValue)] { state.withLock { $0.invocations } }

    /// The next UpdateAlias calls fail with these errors, in order.
    func failNextUpdates(_ errors: [RolloutError]) {
        state.withLock { $0.failures = errors }
    }

    /// The next Invoke calls return these, in order (then `{"status":"Succeeded"}`).
    func scriptInvocations(_ results: [LambdaInvocation]) {
        state.withLock { $0.invokeResults = results }
    }

    /// Someone else changes the alias (bumps the revision).
    func setAlias(_ version: String, weights: [String: Double] = [:]) {
        state.withLock {
            $0.revision += 1
            $0.alias = LambdaAlias(functionVersion: version, additionalWeights: weights, revisionId: "rev-\($0.revision)")
        }
    }

    func getAlias(function: String, alias: String) async throws(RolloutError) -> LambdaAlias {
        state.withLock { $0.alias }
    }

    func updateAlias(
        function: String, alias: String, functionVersion: String, additionalWeights: [String: Double], revisionId: String?
    ) async throws(RolloutError) -> LambdaAlias {
        let result: Result<LambdaAlias, RolloutError> = state.withLock { state in
            state.updates.append(Update(primary: functionVersion, weights: additionalWeights, fence: revisionId))
            if !state.failures.isEmpty { return .failure(state.failures.removeFirst()) }
            if let revisionId, revisionId != state.alias.revisionId {
                return .failure(RolloutError(.preconditionFailed, "PreconditionFailedException: stale RevisionId"))
            }
            state.revision += 1
            state.alias = LambdaAlias(functionVersion: functionVersion, additionalWeights: additionalWeights, revisionId: "rev-\(state.revision)")
            return .success(state.alias)
        }
        return try result.get()
    }

    func publishVersion(function: String) async throws(RolloutError) -> String {
        state.withLock {
            let next = String(($0.versions.compactMap(Int.init).max() ?? 0) + 1)
            $0.versions.insert(next)
            return next
        }
    }

    func versionExists(function: String, version: String) async throws(RolloutError) -> Bool {
        state.withLock { $0.versions.contains(version) }
    }

    func invoke(function: String, payload: [UInt8]) async throws(RolloutError) -> LambdaInvocation {
        let parsed = (try? JSONParser.parse(payload)) ?? .null
        return state.withLock {
            $0.invocations.append((function, parsed))
            return $0.invokeResults.isEmpty
                ? LambdaInvocation(statusCode: 200, payload: Array(#"{"status":"Succeeded"}"#.utf8)) : $0.invokeResults.removeFirst()
        }
    }
}

final class FakeAlarms: AlarmStateReader {
    private let states = Mutex<[String: String]>([:])

    func set(_ name: String, _ state: String) {
        states.withLock { $0[name] = state }
    }

    func alarmStates(names: [String]) async throws(RolloutError) -> [String: String] {
        states.withLock { states in states.filter { names.contains($0.key) } }
    }
}

final class FakePublisher: NotificationPublisher {
    private let published = Mutex<[(subject: String, message: JSONValue, dedup: String)]>([])

    var messages: [(subject: String, message: JSONValue, dedup: String)] { published.withLock { $0 } }

    func publish(topicArn: String, subject: String, message: String, deduplicationId: String, groupId: String) async throws(RolloutError) -> String {
        published.withLock {
            $0.append((subject, (try? JSONParser.parse(Array(message.utf8))) ?? .null, deduplicationId))
            return "msg-\($0.count)"
        }
    }
}

final class MemoryRecords: RolloutRecordStore {
    private let records = Mutex<[String: RolloutRecord]>([:])
    private let sent = Mutex<[String: Set<NotificationEvent>]>([:])

    func saved(_ id: String) -> RolloutRecord? { records.withLock { $0[id] } }

    func create(_ record: RolloutRecord) async throws(RolloutError) -> String? {
        records.withLock { records in
            let active = records.values.first {
                $0.function == record.function && $0.alias == record.alias && !$0.status.isTerminal
            }
            if let active { return active.deploymentId }
            records[record.deploymentId] = record
            return nil
        }
    }

    func save(_ record: RolloutRecord) async throws(RolloutError) {
        records.withLock { $0[record.deploymentId] = record }
    }

    func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord? {
        records.withLock { $0[deploymentId] }
    }

    func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord] {
        records.withLock { records in
            Array(records.values.filter { record in
                (function == nil || record.function == function) && (alias == nil || record.alias == alias)
                    && (status == nil || record.status == status)
            }.sorted { $0.createdAt > $1.createdAt }.prefix(limit))
        }
    }

    func active() async throws(RolloutError) -> [RolloutRecord] {
        records.withLock { $0.values.filter { !$0.status.isTerminal } }
    }

    func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        sent.withLock { $0[deploymentId] ?? [] }
    }

    func claimNotification(_ deploymentId: String, event: NotificationEvent) async throws(RolloutError) -> Bool {
        sent.withLock { !($0[deploymentId] ?? []).contains(event) }
    }

    func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        sent.withLock { _ = $0[deploymentId, default: []].insert(event) }
    }

    func forward(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> Bool {
        false
    }

    /// Fleet mode's hooks: whether the lease is held (``fence(_:)``, and ``save(_:)`` refuses
    /// once it is not), and the deployments reported finished.
    private let leaseHeld = Mutex(true)
    private let finishedIds = Mutex<[String]>([])

    /// Fences that still succeed before the lease is lost by itself; nil: no limit.
    private let fencesLeft = Mutex<Int?>(nil)

    func loseLease() { leaseHeld.withLock { $0 = false } }
    /// The lease is lost right after `count` more fences succeeded, whatever the timing.
    func loseLease(afterFences count: Int) { fencesLeft.withLock { $0 = count } }
    var finishedDeployments: [String] { finishedIds.withLock { $0 } }

    func fence(_ deploymentId: String) async -> Bool {
        let allowed = fencesLeft.withLock { left -> Bool in
            guard let remaining = left else { return true }
            left = remaining - 1
            return remaining > 0
        }
        if !allowed { loseLease() }
        return leaseHeld.withLock { $0 }
    }
    func finished(_ deploymentId: String) async { finishedIds.withLock { $0.append(deploymentId) } }
}

/// An engine over fresh fakes.
struct EngineHarness {
    let lambda = FakeLambda()
    let alarms = FakeAlarms()
    let publisher = FakePublisher()
    let records = MemoryRecords()

    func engine(alarmPollSeconds: Int = 1) -> NativeRolloutEngine {
        NativeRolloutEngine(
            lambda: lambda, alarms: alarms, publisher: publisher, store: records,
            settings: .init(alarmPollSeconds: alarmPollSeconds, deadlineMarginSeconds: 300, reconcileRetrySeconds: 0.05),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { Date().timeIntervalSince1970 }
        )
    }

    static func request(
        _ strategy: Strategy = .allAtOnce, hooks: RolloutHooks? = nil, alarms: [String]? = nil,
        topic: String? = "arn:aws:sns:us-east-1:123456789012:rollouts"
    ) -> RolloutRequest {
        RolloutRequest(function: "fn", alias: "live", targetVersion: "2", strategy: strategy, hooks: hooks, alarms: alarms, notifyTopicArn: topic)
    }
}
