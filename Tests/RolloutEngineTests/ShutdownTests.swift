import Foundation
import Logging
import RolloutCore
import RolloutEngine
import Synchronization
import Testing

/// Every task an engine starts ends with it: shutdown returns only once the hooks, alarm polls
/// and timers of running deployments and the CodeDeploy waiters' polls have ended. The fakes
/// hold each call until it is cancelled and count the calls still in flight.
@Suite struct ShutdownTests {
    let harness = EngineHarness()

    @Test func shutdownEndsTheHookAndAlarmPollOfARunningDeployment() async throws {
        let lambda = HoldingLambda(harness.lambda)
        let alarms = HoldingAlarms()
        let records = harness.records
        let engine = Self.nativeEngine(lambda: lambda, alarms: alarms, records: records)
        let request = EngineHarness.request(
            .canary(percent: 10, intervalSeconds: 60), hooks: RolloutHooks(beforeTraffic: "smoke"), alarms: ["errors"], topic: nil
        )
        let started = try await engine.start(request, fromVersion: "1", toVersion: "2", revisionId: "rev-0")
        try await eventually { lambda.invocationsInFlight == 1 && alarms.pollsInFlight == 1 }

        await engine.shutdown()

        #expect(lambda.invocationsInFlight == 0, "the hook's invocation ended before shutdown returned")
        #expect(alarms.pollsInFlight == 0, "the alarm poll ended before shutdown returned")
        #expect(records.saved(started.deploymentId)?.status == .inProgress, "the record stays for the next start to resume")
        #expect(harness.lambda.updates.isEmpty, "the cancelled hook changed nothing")
        await #expect(throws: RolloutError.self) {
            _ = try await engine.start(request, fromVersion: "1", toVersion: "2", revisionId: "rev-0")
        }
    }

    @Test func coordinatorShutdownEndsNativeTasksAndCodeDeployWaiters() async throws {
        let lambda = HoldingLambda(harness.lambda)
        let alarms = HoldingAlarms()
        let codeDeploy = FakeCodeDeploy()
        let coordinator = RolloutCoordinator(
            engines: [
                Self.nativeEngine(lambda: lambda, alarms: alarms, records: harness.records),
                CodeDeployEngine(
                    codeDeploy: codeDeploy, store: harness.records, now: { Date().timeIntervalSince1970 }, pollInterval: .milliseconds(20)
                ),
            ],
            defaultEngine: .native, lambda: lambda, alarms: alarms, store: harness.records
        )
        let native = try await coordinator.start(
            RolloutRequest(
                function: "fn", alias: "live", targetVersion: "2", strategy: .linear(percent: 10, intervalSeconds: 60),
                hooks: RolloutHooks(beforeTraffic: "smoke")
            ),
            call: nil
        )
        let onCodeDeploy = try await coordinator.start(
            RolloutRequest(function: "other", alias: "live", targetVersion: "2", strategy: .allAtOnce, engine: .codedeploy), call: nil
        )
        #expect(native.status == .inProgress && onCodeDeploy.status == .inProgress)
        let waiter = Task { () async -> Result<Deployment, RolloutError> in
            do throws(RolloutError) {
                return .success(try await coordinator.wait(onCodeDeploy.deploymentId, timeoutSeconds: 3600) { _, _ in })
            } catch {
                return .failure(error)
            }
        }
        try await eventually { lambda.invocationsInFlight == 1 && codeDeploy.polls >= 3 }

        await coordinator.shutdown()

        #expect(lambda.invocationsInFlight == 0, "the native deployment's hook ended before shutdown returned")
        let polls = codeDeploy.polls
        let outcome = await waiter.value
        #expect(throws: RolloutError.self) { _ = try outcome.get() }
        if case .failure(let error) = outcome { #expect(error.code == .unavailable, "the waiter is told the daemon shuts down") }
        try await Task.sleep(for: .milliseconds(100))
        #expect(codeDeploy.polls == polls, "nothing polls CodeDeploy after shutdown")
    }

    static func nativeEngine(lambda: any LambdaControl, alarms: any AlarmStateReader, records: MemoryRecords) -> NativeRolloutEngine {
        NativeRolloutEngine(
            lambda: lambda, alarms: alarms, publisher: nil, store: records,
            settings: .init(alarmPollSeconds: 1, deadlineMarginSeconds: 300, reconcileRetrySeconds: 0.05),
            logger: Logger(label: "test", factory: { _ in SwiftLogNoOpLogHandler() }),
            now: { Date().timeIntervalSince1970 }
        )
    }

    /// Polls `condition` for up to 10 s.
    func eventually(_ condition: () -> Bool, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        for _ in 0..<500 where !condition() {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(condition(), sourceLocation: sourceLocation)
    }
}

/// Holds every call until the calling task is cancelled, then returns `result`.
private func holdUntilCancelled<T>(_ inFlight: borrowing Mutex<Int>, _ result: T) async -> T {
    inFlight.withLock { $0 += 1 }
    defer { inFlight.withLock { $0 -= 1 } }
    while !Task.isCancelled {
        try? await Task.sleep(for: .seconds(3600))
    }
    return result
}

/// ``FakeLambda`` whose `Invoke` (a hook) runs until it is cancelled.
final class HoldingLambda: LambdaControl {
    private let fake: FakeLambda
    private let inFlight = Mutex(0)

    init(_ fake: FakeLambda) {
        self.fake = fake
    }

    var invocationsInFlight: Int { inFlight.withLock { $0 } }

    func getAlias(function: String, alias: String) async throws(RolloutError) -> LambdaAlias {
        try await fake.getAlias(function: function, alias: alias)
    }

    func updateAlias(
        function: String, alias: String, functionVersion: String, additionalWeights: [String: Double], revisionId: String?
    ) async throws(RolloutError) -> LambdaAlias {
        try await fake.updateAlias(
            function: function, alias: alias, functionVersion: functionVersion, additionalWeights: additionalWeights, revisionId: revisionId
        )
    }

    func publishVersion(function: String) async throws(RolloutError) -> String {
        try await fake.publishVersion(function: function)
    }

    func versionExists(function: String, version: String) async throws(RolloutError) -> Bool {
        try await fake.versionExists(function: function, version: version)
    }

    func invoke(function: String, payload: [UInt8]) async throws(RolloutError) -> LambdaInvocation {
        await holdUntilCancelled(inFlight, LambdaInvocation(statusCode: 200, payload: Array(#"{"status":"Succeeded"}"#.utf8)))
    }
}

/// Alarms whose `DescribeAlarms` runs until it is cancelled.
final class HoldingAlarms: AlarmStateReader {
    private let inFlight = Mutex(0)

    var pollsInFlight: Int { inFlight.withLock { $0 } }

    func alarmStates(names: [String]) async throws(RolloutError) -> [String: String] {
        await holdUntilCancelled(inFlight, Dictionary(uniqueKeysWithValues: names.map { ($0, "OK") }))
    }
}

/// CodeDeploy whose deployments stay in progress; counts `GetDeployment` polls.
final class FakeCodeDeploy: CodeDeployControl {
    private let gets = Mutex(0)

    var polls: Int { gets.withLock { $0 } }

    func checkStrategy(_ strategy: Strategy) throws(RolloutError) {}

    func start(_ request: RolloutRequest, fromVersion: String, toVersion: String, call: IdempotentCall?) async throws(RolloutError) -> String {
        "d-CODEDEPLOY01"
    }

    func deployment(startedBy call: IdempotentCall) async throws(RolloutError) -> (deploymentId: String, fromVersion: String, toVersion: String)? {
        nil
    }

    func deployment(_ id: String, record: CodeDeployRecord) async throws(RolloutError) -> Deployment {
        gets.withLock { $0 += 1 }
        return Deployment(
            deploymentId: id, engine: .codedeploy, function: record.function, alias: record.alias, fromVersion: record.fromVersion,
            toVersion: record.toVersion, strategy: record.strategy, status: .inProgress, weight: 0,
            startedAt: RFC3339.format(seconds: record.startedAt), rolledBack: false, events: []
        )
    }

    func stop(_ id: String) async throws(RolloutError) {}

    func reportHook(_ id: String, executionId: String, succeeded: Bool) async throws(RolloutError) {}
}
