import Foundation
import RolloutCore
import RolloutEngine
import Testing

/// The native engine's executor over in-memory fakes: the order and fencing of alias changes,
/// hooks, alarms, notifications through the outbox, and recovery after a crash.
@Suite struct NativeEngineTests {
    let harness = EngineHarness()

    @Test func allAtOnceMovesTheAliasFencedAndNotifiesOnce() async throws {
        let engine = harness.engine()
        let started = try await engine.start(EngineHarness.request(), fromVersion: "1", toVersion: "2", revisionId: "rev-0")
        #expect(started.status == .succeeded)
        #expect(harness.lambda.updates == [.init(primary: "2", weights: [:], fence: "rev-0")])
        #expect(harness.lambda.alias.functionVersion == "2" && harness.lambda.alias.additionalWeights.isEmpty)
        let deployment = try await engine.deployment(started.deploymentId)
        #expect(deployment.status == .succeeded && deployment.weight == 1 && deployment.completedAt != nil)
        #expect(harness.publisher.messages.map(\.dedup) == [
            "\(started.deploymentId):DeploymentStart", "\(started.deploymentId):DeploymentSuccess",
        ])
        #expect(harness.publisher.messages.first?.message["toVersion"] == "2")
        #expect(harness.records.saved(started.deploymentId)?.status == .succeeded)
    }

    @Test func aStaleRevisionIdRollsBackUnfenced() async throws {
        harness.lambda.setAlias("1")  // someone touched the alias after our preflight read rev-0
        let engine = harness.engine()
        let started = try await engine.start(
            EngineHarness.request(.canary(percent: 10, intervalSeconds: 60)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        #expect(started.status == .failed)
        let deployment = try await engine.deployment(started.deploymentId)
        #expect(deployment.error?.code == .internalError && deployment.error?.message.contains("RevisionId") == true)
        #expect(deployment.rolledBack)
        #expect(harness.lambda.updates == [
            .init(primary: "1", weights: ["2": 0.1], fence: "rev-0"),
            .init(primary: "1", weights: [:], fence: nil),
        ])
        #expect(harness.lambda.alias.functionVersion == "1" && harness.lambda.alias.additionalWeights.isEmpty)
    }

    @Test func aThrottledShiftRollsBack() async throws {
        harness.lambda.failNextUpdates([RolloutError(.throttled, "TooManyRequestsException after 3 attempts")])
        let engine = harness.engine()
        let started = try await engine.start(
            EngineHarness.request(.linear(percent: 50, intervalSeconds: 60)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        let deployment = try await engine.deployment(started.deploymentId)
        #expect(deployment.status == .failed && deployment.rolledBack)
        #expect(harness.lambda.alias.functionVersion == "1" && harness.lambda.alias.additionalWeights.isEmpty)
        #expect(harness.publisher.messages.map { $0.message["event"] } == ["DeploymentStart", "DeploymentRollback", "DeploymentFailure"])
    }

    @Test func aHookGetsTheVersionsAndItsFailureRollsBack() async throws {
        harness.lambda.scriptInvocations([LambdaInvocation(statusCode: 200, payload: Array(#"{"status":"Failed","why":"smoke"}"#.utf8))])
        let engine = harness.engine()
        let request = EngineHarness.request(.canary(percent: 10, intervalSeconds: 60), hooks: RolloutHooks(beforeTraffic: "smoke"))
        let started = try await engine.start(request, fromVersion: "1", toVersion: "2", revisionId: "rev-0")
        let done = try await engine.wait(started.deploymentId, timeoutSeconds: 10) { _, _ in }
        #expect(done.status == .failed && done.error?.code == .hookExecutionFailure)
        #expect(done.error?.message.contains("smoke") == true)
        #expect(
            harness.lambda.updates == [.init(primary: "1", weights: [:], fence: nil)],
            "a failed beforeTraffic hook: no traffic ever moved, the rollback only restates the old version"
        )
        let payload = try #require(harness.lambda.invocations.first?.payload)
        #expect(payload["DeploymentId"] == .string(started.deploymentId))
        #expect(payload["currentVersion"] == "1" && payload["targetVersion"] == "2" && payload["hook"] == "beforeTraffic")
        #expect(payload["function"] == "fn" && payload["alias"] == "live" && payload["LifecycleEventHookExecutionId"] != nil)
    }

    @Test func aFunctionErrorFailsTheAfterTrafficHook() async throws {
        harness.lambda.scriptInvocations([LambdaInvocation(statusCode: 200, functionError: "Unhandled", payload: Array(#"{"errorMessage":"boom"}"#.utf8))])
        let engine = harness.engine()
        let started = try await engine.start(
            EngineHarness.request(hooks: RolloutHooks(afterTraffic: "verify")), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        let done = try await engine.wait(started.deploymentId, timeoutSeconds: 10) { _, _ in }
        #expect(done.status == .failed && done.error?.code == .hookExecutionFailure && done.rolledBack)
        #expect(done.error?.message.contains("Unhandled") == true)
        #expect(harness.lambda.alias.functionVersion == "1")
    }

    @Test func anAlarmStopsAndRollsBack() async throws {
        harness.alarms.set("errors", "OK")
        let engine = harness.engine(alarmPollSeconds: 1)
        let started = try await engine.start(
            EngineHarness.request(.linear(percent: 10, intervalSeconds: 60), alarms: ["errors"]), fromVersion: "1", toVersion: "2",
            revisionId: "rev-0"
        )
        #expect(harness.lambda.alias.additionalWeights == ["2": 0.1])
        harness.alarms.set("errors", "ALARM")
        let done = try await engine.wait(started.deploymentId, timeoutSeconds: 10) { _, _ in }
        #expect(done.status == .stopped && done.error?.code == .alarmActive && done.rolledBack)
        #expect(harness.lambda.alias.functionVersion == "1" && harness.lambda.alias.additionalWeights.isEmpty)
    }

    @Test func stopRollsBackAndIsIdempotent() async throws {
        let engine = harness.engine()
        let started = try await engine.start(
            EngineHarness.request(.linear(percent: 10, intervalSeconds: 60)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        #expect(try await engine.stop(started.deploymentId) == .stopped)
        let updates = harness.lambda.updates.count
        #expect(try await engine.stop(started.deploymentId) == .stopped)
        #expect(harness.lambda.updates.count == updates)
        let deployment = try await engine.deployment(started.deploymentId)
        #expect(deployment.error?.code == .manualStop && deployment.rolledBack)
        #expect(harness.lambda.alias.functionVersion == "1" && harness.lambda.alias.additionalWeights.isEmpty)
        await #expect(throws: RolloutError.self) { try await engine.stop("d-UNKNOWN00000") }
    }

    @Test func waitTimesOutWithTheCurrentDeployment() async throws {
        let engine = harness.engine()
        let started = try await engine.start(
            EngineHarness.request(.linear(percent: 10, intervalSeconds: 60)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        do {
            _ = try await engine.wait(started.deploymentId, timeoutSeconds: 0.2) { _, _ in }
            Issue.record("wait returned before the deployment ended")
        } catch {
            #expect(error.code == .deadlineExceeded)
            #expect(error.data["deployment"]?["weight"] == .number(JSONNumber(0.1)))
        }
        _ = try await engine.stop(started.deploymentId)
    }

    /// A record written just before a step was applied, with the alias already showing it (the
    /// daemon died between UpdateAlias and the next write): the step is adopted, not re-applied,
    /// and the next one waits for its original time.
    @Test func recoveryAdoptsAnInFlightStepAndKeepsTheSchedule() async throws {
        let t0 = Date().timeIntervalSince1970 - 21
        var machine = try RolloutStateMachine(.init(fromVersion: "1", toVersion: "2", strategy: .linear(percent: 25, intervalSeconds: 20)))
        _ = machine.handle(.start(now: t0))
        _ = machine.handle(.shiftApplied(weight: 0.25, revisionId: "rev-1", now: t0))
        #expect(machine.handle(.tick(now: t0 + 20)).contains(.applyWeight(0.5)))
        harness.lambda.setAlias("1", weights: ["2": 0.5])
        let record = RolloutRecord(
            deploymentId: "d-RECOVERED001", engine: .native, request: EngineHarness.request(topic: nil), fromVersion: "1",
            toVersion: "2", createdAt: t0, status: machine.status, snapshot: machine.snapshot
        )
        try await harness.records.save(record)
        let engine = harness.engine()
        try await engine.recover()
        var adopted = try await engine.deployment("d-RECOVERED001")
        for _ in 0..<200 where !adopted.events.contains(where: { $0.type == "StepAdopted" }) {
            try await Task.sleep(for: .milliseconds(20))
            adopted = try await engine.deployment("d-RECOVERED001")
        }
        #expect(adopted.events.contains { $0.type == "StepAdopted" } && adopted.weight == 0.5)
        let nextStepAt = try #require(adopted.nextStepAt.flatMap(RFC3339.parse))
        #expect(abs(nextStepAt - (t0 + 40)) < 0.01, "the third step keeps its place in the original schedule")
        #expect(harness.lambda.updates.isEmpty, "the adopted step is not applied again")
        #expect(try await engine.promote("d-RECOVERED001") == .succeeded)
        #expect(harness.lambda.updates.map(\.weights) == [[:]])
        #expect(harness.lambda.alias.functionVersion == "2" && harness.lambda.alias.additionalWeights.isEmpty)
    }

    @Test func recoveryPastTheDeadlineRollsBack() async throws {
        let t0 = Date().timeIntervalSince1970 - 10_000
        var machine = try RolloutStateMachine(.init(fromVersion: "1", toVersion: "2", strategy: .canary(percent: 10, intervalSeconds: 60)))
        _ = machine.handle(.start(now: t0))
        _ = machine.handle(.shiftApplied(weight: 0.1, revisionId: "rev-1", now: t0))
        harness.lambda.setAlias("1", weights: ["2": 0.1])
        try await harness.records.save(RolloutRecord(
            deploymentId: "d-LATE00000001", engine: .native, request: EngineHarness.request(topic: nil), fromVersion: "1",
            toVersion: "2", createdAt: t0, status: machine.status, snapshot: machine.snapshot
        ))
        let engine = harness.engine()
        try await engine.recover()
        let done = try await engine.wait("d-LATE00000001", timeoutSeconds: 20) { _, _ in }
        #expect(done.status == .failed && done.error?.code == .timeout && done.rolledBack)
        #expect(harness.lambda.alias.functionVersion == "1" && harness.lambda.alias.additionalWeights.isEmpty)
    }

    /// Notifications decided before a crash but not recorded as sent go out once at the next
    /// start, and never again.
    @Test func theOutboxPublishesWhatACrashLeftUnsentExactlyOnce() async throws {
        let now = Date().timeIntervalSince1970
        var machine = try RolloutStateMachine(.init(fromVersion: "1", toVersion: "2", strategy: .allAtOnce))
        _ = machine.handle(.start(now: now))
        _ = machine.handle(.shiftApplied(weight: 1, revisionId: "rev-1", now: now))
        #expect(machine.status == .succeeded)
        try await harness.records.save(RolloutRecord(
            deploymentId: "d-OUTBOX000001", engine: .native, request: EngineHarness.request(), fromVersion: "1", toVersion: "2",
            createdAt: now, status: machine.status, snapshot: machine.snapshot
        ))
        try await harness.records.markSent("d-OUTBOX000001", event: .deploymentStart, messageId: "m-1", at: now)
        try await harness.engine().recover()
        try await harness.engine().recover()
        #expect(harness.publisher.messages.map(\.dedup) == ["d-OUTBOX000001:DeploymentSuccess"])
    }
}
