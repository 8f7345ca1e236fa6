import Foundation
import Logging
import RolloutCore
import RolloutEngine
import Synchronization
import Testing
@testable import RolloutFleet

/// A lease is renewed for a deployment that is being driven, not for a process that is alive:
/// a run loop stuck in an await stops checking in, its lease is no longer renewed, and another
/// node adopts the deployment (moto's DynamoDB, the native engine, a Lambda that hangs).
@Suite("Driver liveness on moto", .serialized)
struct DriverLivenessMotoTests {
    /// Lambda whose UpdateAlias never answers from the second call on (until the caller is
    /// cancelled): a hook or AWS call stuck beyond its timeouts, a deadlocked await.
    final class HangingLambda: LambdaControl {
        private let updates = Mutex(0)

        var updateCount: Int { updates.withLock { $0 } }

        func getAlias(function: String, alias: String) async throws(RolloutError) -> LambdaAlias {
            LambdaAlias(functionVersion: "1", revisionId: "rev-0")
        }

        func updateAlias(
            function: String, alias: String, functionVersion: String, additionalWeights: [String: Double], revisionId: String?
        ) async throws(RolloutError) -> LambdaAlias {
            let count = updates.withLock {
                $0 += 1
                return $0
            }
            if count >= 2 {
                try? await Task.sleep(for: .seconds(3600))
                throw RolloutError.cancelled
            }
            return LambdaAlias(functionVersion: functionVersion, additionalWeights: additionalWeights, revisionId: "rev-\(count)")
        }

        func publishVersion(function: String) async throws(RolloutError) -> String { "2" }

        func versionExists(function: String, version: String) async throws(RolloutError) -> Bool { true }

        func invoke(function: String, payload: [UInt8]) async throws(RolloutError) -> LambdaInvocation {
            throw RolloutError.internalError("no hooks in this test")
        }
    }

    @Test func aRunLoopStuckInAnAwaitLosesItsLeaseAndAnotherNodeAdopts() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("liveness")
        let logger = Logger(label: "liveness-test")
        // A 5 s lease and a longest await of 1 s: a run loop silent for 6 s is stuck.
        let records = FleetRecords(
            fleet: try moto.store(table, node: "node-a"), local: FleetRecordsMotoTests.NoLocalRecords(), longestAwait: .seconds(1)
        )
        let lambda = HangingLambda()
        let engine = NativeRolloutEngine(
            lambda: lambda, alarms: nil, publisher: nil, store: records, logger: logger, now: { Date().timeIntervalSince1970 }
        )
        let driving = Task { await FleetDriver(records: records, engine: engine, logger: logger).run() }
        let clock = ContinuousClock()
        let began = clock.now
        let started = try await engine.start(
            RolloutRequest(function: "orders", alias: "live", targetVersion: "2", strategy: .linear(percent: 25, intervalSeconds: 1)),
            fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        // The first step was applied; the second (1 s later) hangs in UpdateAlias for good.
        let observer = FleetRecords(fleet: try moto.store(table, node: "node-b"), local: FleetRecordsMotoTests.NoLocalRecords())
        var adopted: FleetLease?
        while adopted == nil, clock.now - began < .seconds(25) {
            for lease in await observer.scanForExpired() {
                adopted = await observer.adopt(lease)?.lease
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let adoptedAfter = clock.now - began
        #expect(adopted?.deploymentId == started.deploymentId && adopted?.epoch == 2)
        // Not before the stall limit (1 s of work, 6 s of silence) plus a whole lease.
        #expect(adoptedAfter >= .seconds(11), "adopted after \(adoptedAfter)")
        #expect(await records.owned.isEmpty)
        #expect(!(await engine.isDriving(started.deploymentId)))
        // 2: the first step, then the one that hangs. 1 when the machine itself held the run loop
        // back past 6 s before its second step (a loaded test machine, a debugger): that is a
        // stall too, and it must end the same way.
        #expect((1...2).contains(lambda.updateCount), "\(lambda.updateCount) alias updates")
        driving.cancel()
        await driving.value
        await engine.shutdown()
    }

    /// The node whose run loop stalled is not the first to take the deployment back (its process
    /// may be what is stuck): it waits two leases, then adopts it itself, so a fleet of one still
    /// ends the deployment.
    @Test func aFleetOfOneTakesBackItsStalledDeploymentAfterTwoLeases() async throws {
        let moto = try await FleetTestMoto.get()
        let table = try await moto.freshTable("liveness-alone")
        let logger = Logger(label: "liveness-alone-test")
        let lease = Duration.seconds(5)
        let records = FleetRecords(
            fleet: try moto.store(table, node: "node-a", lease: lease), local: FleetRecordsMotoTests.NoLocalRecords(),
            longestAwait: .seconds(1)
        )
        let engine = NativeRolloutEngine(
            lambda: HangingLambda(), alarms: nil, publisher: nil, store: records, logger: logger, now: { Date().timeIntervalSince1970 }
        )
        let driving = Task { await FleetDriver(records: records, engine: engine, logger: logger).run() }
        let clock = ContinuousClock()
        let began = clock.now
        let started = try await engine.start(
            RolloutRequest(function: "orders", alias: "live", targetVersion: "2", strategy: .linear(percent: 25, intervalSeconds: 1)),
            fromVersion: "1", toVersion: "2", revisionId: "rev-0"
        )
        var gaveUp: ContinuousClock.Instant?
        var tookBack: ContinuousClock.Instant?
        while tookBack == nil, clock.now - began < .seconds(60) {
            let owned = await records.owned.contains(started.deploymentId)
            if gaveUp == nil, !owned { gaveUp = clock.now }
            if gaveUp != nil, await records.adoptedCount == 1 { tookBack = clock.now }
            try await Task.sleep(for: .milliseconds(100))
        }
        let given = try #require(gaveUp, "the stalled run loop never gave up its lease")
        let taken = try #require(tookBack, "nobody took the deployment back within 60 s")
        // Two leases after giving it up on this node's clock, less the 100 ms polling step.
        #expect(taken - given >= lease * 2 - .milliseconds(200), "taken back \(taken - given) after giving it up")
        #expect(await records.owned == [started.deploymentId])
        driving.cancel()
        await driving.value
        await engine.shutdown()
    }
}
