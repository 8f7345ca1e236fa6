import RolloutCore
import RolloutEngine
import Testing

/// The coordinator over a store that other daemons share (fleet mode), which may hold
/// deployments of an engine this daemon does not run.
@Suite struct CoordinatorFleetTests {
    let harness = EngineHarness()

    @Test func aDaemonWithoutTheCodeDeployEngineListsWhatItCanAsk() async throws {
        let coordinator = RolloutCoordinator(
            engines: [harness.engine()], defaultEngine: .native, lambda: harness.lambda, alarms: harness.alarms, store: harness.records
        )
        // A CodeDeploy deployment that another daemon of the fleet started.
        let elsewhere = RolloutRecord(
            deploymentId: "d-CODEDEPLOY01", engine: .codedeploy,
            request: RolloutRequest(function: "other", alias: "live", targetVersion: "2", strategy: .allAtOnce, engine: .codedeploy),
            fromVersion: "1", toVersion: "2", createdAt: 1, status: .inProgress
        )
        #expect(try await harness.records.create(elsewhere) == nil)
        let started = try await coordinator.start(EngineHarness.request(), call: nil)
        #expect(try await coordinator.list(function: nil, alias: nil, status: nil).map(\.deploymentId) == [started.deploymentId])
        // Asked for by id, it says which configuration it needs.
        await #expect(throws: RolloutError.self) { try await coordinator.deployment(elsewhere.deploymentId) }
        await coordinator.shutdown()
    }
}
