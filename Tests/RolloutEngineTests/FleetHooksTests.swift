import Foundation
import RolloutCore
import RolloutEngine
import Testing

/// What the engine does for a store shared by a fleet (SPEC §11): a fence before every alias
/// change, abandoning a deployment whose lease is lost, adoption, and freeing the alias only after
/// the terminal notifications.
@Suite struct FleetHooksTests {
    let harness = EngineHarness()

    @Test func aLostLeaseStopsTheRunBeforeTheNextAliasChange() async throws {
        let engine = harness.engine()
        // The first step's fence succeeds; the lease is lost right after it, so the next step's
        // fence fails however late the test's own task runs (a fixed pause lost that race on a
        // loaded machine and saw the second step applied before the lease was taken away).
        harness.records.loseLease(afterFences: 1)
        let started = try await engine.start(
            EngineHarness.request(.linear(percent: 25, intervalSeconds: 1)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        #expect(harness.lambda.updates.count == 1)
        // The next step comes due after 1 s: wait (up to 10 s) for the run loop to stop at its fence.
        for _ in 0..<200 where await engine.isDriving(started.deploymentId) {
            try await Task.sleep(for: .milliseconds(50))
        }
        // The step that came due was not applied, and nothing else either (no rollback).
        #expect(harness.lambda.updates.count == 1)
        #expect(harness.lambda.alias.additionalWeights == ["2": 0.25])
        #expect(!(await engine.isDriving(started.deploymentId)))
        #expect(harness.records.saved(started.deploymentId)?.status == .inProgress)
        await engine.shutdown()
    }

    @Test func aLostLeaseStopsTheRunBeforeItInvokesAHook() async throws {
        let engine = harness.engine()
        harness.records.loseLease()
        let started = try await engine.start(
            EngineHarness.request(hooks: RolloutHooks(beforeTraffic: "smoke-test")), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        // Time for a hook to be invoked if the fence did not stop it, then for the loop to end.
        try await Task.sleep(for: .milliseconds(300))
        for _ in 0..<200 where await engine.isDriving(started.deploymentId) {
            try await Task.sleep(for: .milliseconds(50))
        }
        // The start was recorded (its save preceded the fence), but no hook and no alias change ran.
        #expect(harness.lambda.invocations.isEmpty)
        #expect(harness.lambda.updates.isEmpty)
        #expect(!(await engine.isDriving(started.deploymentId)))
        await engine.shutdown()
    }

    @Test func anAdopterRecordsItReconcilesAndContinues() async throws {
        let first = harness.engine()
        let started = try await first.start(
            EngineHarness.request(.canary(percent: 10, intervalSeconds: 60)), fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        await first.shutdown()
        let record = try #require(harness.records.saved(started.deploymentId))
        let adopter = harness.engine()
        await adopter.adopt(record, node: "node-b", epoch: 2)
        #expect(try await adopter.promote(started.deploymentId) == .succeeded)
        let done = try await adopter.deployment(started.deploymentId)
        let types = done.events.map(\.type)
        #expect(done.events.first { $0.type == "Adopted" }?.detail == "adopted by node-b (epoch 2)")
        #expect(types.firstIndex(of: "Adopted")! < types.firstIndex(of: "AliasObserved")!)
        #expect(harness.lambda.alias.functionVersion == "2" && harness.lambda.alias.additionalWeights.isEmpty)
        // The start was published by the first driver; the adopter publishes only what is new.
        #expect(harness.publisher.messages.map { $0.message["event"] } == ["DeploymentStart", "DeploymentSuccess"])
        #expect(harness.records.finishedDeployments == [started.deploymentId])
        await adopter.shutdown()
    }

    @Test func theAliasIsFreedAfterTheTerminalNotifications() async throws {
        let engine = harness.engine()
        let started = try await engine.start(EngineHarness.request(), fromVersion: "1", toVersion: "2", revisionId: "rev-0")
        #expect(started.status == .succeeded)
        #expect(harness.records.finishedDeployments == [started.deploymentId])
        #expect(harness.publisher.messages.count == 2)
        await engine.shutdown()
    }
}
