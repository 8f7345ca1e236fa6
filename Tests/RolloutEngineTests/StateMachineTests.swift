import RolloutCore
import RolloutEngine
import Testing

@Suite struct StateMachineTests {
    @Test func canaryWithHooksRunsInOrder() throws {
        var machine = try makeMachine(hooks: [.beforeTraffic, .afterTraffic])
        // deadline = 1000 + 60 (plan) + 2 × 600 (hooks) + 300 (margin) = 2560
        run(&machine, [
            (.start(now: 1000), [.persist, .notify(.deploymentStart), .invokeHook(.beforeTraffic), .scheduleTick(at: 1600)]),
            (.hookFinished(.beforeTraffic, succeeded: true, detail: "", now: 1010), [.persist, .applyWeight(0.1), .scheduleTick(at: 2560)]),
            (.shiftApplied(weight: 0.1, revisionId: "r1", now: 1011), [.persist, .scheduleTick(at: 1070)]),
            (.tick(now: 1070), [.persist, .setPrimary(version: "2"), .scheduleTick(at: 2560)]),
            (.shiftApplied(weight: 1, revisionId: "r2", now: 1071), [.persist, .invokeHook(.afterTraffic), .scheduleTick(at: 1671)]),
            (.hookFinished(.afterTraffic, succeeded: true, detail: "", now: 1080), [.persist, .notify(.deploymentSuccess), .complete(.succeeded)]),
            (.tick(now: 2000), []),
            (.stop(now: 2001), []),
        ])
        #expect(machine.status == .succeeded)
        #expect(machine.snapshot.weight == 1)
        #expect(machine.snapshot.revisionId == "r2")
        #expect(!machine.snapshot.rolledBack)
        #expect(machine.snapshot.error == nil)
        #expect(machine.snapshot.notified == [.deploymentStart, .deploymentSuccess])
        #expect(machine.nextWakeUp == nil)
    }

    @Test func linearShiftsEveryStepThenSetsPrimary() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 1))
        var actions = machine.handle(.start(now: 0))
        for second in 0..<4 {
            if let weight = actions.compactMap({ if case .applyWeight(let w) = $0 { w } else { nil } }).first {
                actions = machine.handle(.shiftApplied(weight: weight, revisionId: nil, now: Double(second) + 0.1))
                #expect(actions == [.persist, .scheduleTick(at: Double(second + 1))])
                actions = machine.handle(.tick(now: Double(second + 1)))
            }
        }
        #expect(actions == [.persist, .setPrimary(version: "2"), .scheduleTick(at: 303)])
        let weights = machine.snapshot.events.filter { $0.type == "ShiftApplied" }.map(\.detail)
        #expect(weights == ["weight 0.25", "weight 0.5", "weight 0.75"])
        #expect(machine.handle(.shiftApplied(weight: 1, revisionId: nil, now: 3.1)) == [.persist, .notify(.deploymentSuccess), .complete(.succeeded)])
    }

    @Test func failedBeforeTrafficHookRollsBackWithoutShifting() throws {
        var machine = try makeMachine(hooks: [.beforeTraffic])
        let actions = feed(&machine, [.start(now: 1000)])
        run(&machine, [
            (.hookFinished(.beforeTraffic, succeeded: false, detail: "status Failed", now: 1005), [.persist, .rollback(toVersion: "1")]),
            (.rollbackApplied(now: 1006), [.persist, .notify(.deploymentRollback), .notify(.deploymentFailure), .complete(.failed)]),
        ])
        #expect(!actions.contains { if case .applyWeight = $0 { true } else { false } })
        #expect(machine.status == .failed)
        #expect(machine.snapshot.error?.code == .hookExecutionFailure)
        #expect(machine.snapshot.rolledBack)
        #expect(!machine.snapshot.events.contains { $0.type == "ShiftRequested" })
    }

    @Test func failedAfterTrafficHookRollsBackAfterFullShift() throws {
        var machine = try makeMachine(.allAtOnce, hooks: [.afterTraffic])
        run(&machine, [
            (.start(now: 0), [.persist, .notify(.deploymentStart), .setPrimary(version: "2"), .scheduleTick(at: 900)]),
            (.shiftApplied(weight: 1, revisionId: nil, now: 1), [.persist, .invokeHook(.afterTraffic), .scheduleTick(at: 601)]),
            (.hookFinished(.afterTraffic, succeeded: false, detail: "FunctionError", now: 2), [.persist, .rollback(toVersion: "1")]),
            (.rollbackApplied(now: 3), [.persist, .notify(.deploymentRollback), .notify(.deploymentFailure), .complete(.failed)]),
        ])
        #expect(machine.snapshot.error?.code == .hookExecutionFailure)
        #expect(machine.snapshot.weight == 0)
    }

    @Test func hookTimeoutFails() throws {
        var machine = try makeMachine(hooks: [.beforeTraffic])
        _ = machine.handle(.start(now: 0))
        #expect(machine.handle(.tick(now: 600)) == [.persist, .rollback(toVersion: "1")])
        #expect(machine.snapshot.error?.code == .hookExecutionFailure)
    }

    @Test func alarmInAlarmStopsAndRollsBack() throws {
        var machine = try makeMachine(alarms: ["errors", "latency"])
        run(&machine, [
            (.start(now: 1000), [.persist, .notify(.deploymentStart), .applyWeight(0.1), .scheduleTick(at: 1030)]),
            (.shiftApplied(weight: 0.1, revisionId: nil, now: 1001), [.persist, .scheduleTick(at: 1030)]),
            (.tick(now: 1030), [.pollAlarms, .scheduleTick(at: 1060)]),
            (.alarmStates(["errors": "OK", "latency": "INSUFFICIENT_DATA"], now: 1031), [.scheduleTick(at: 1060)]),
            (.tick(now: 1060), [.persist, .setPrimary(version: "2"), .pollAlarms, .scheduleTick(at: 1090)]),
            (.alarmStates(["errors": "ALARM", "latency": "OK"], now: 1061), [.persist, .rollback(toVersion: "1")]),
            (.shiftApplied(weight: 1, revisionId: nil, now: 1062), []),
            (.rollbackApplied(now: 1063), [.persist, .notify(.deploymentRollback), .notify(.deploymentStop), .complete(.stopped)]),
        ])
        #expect(machine.snapshot.error?.code == .alarmActive)
        #expect(machine.snapshot.error?.message.contains("errors") == true)
    }

    @Test func manualStopRollsBack() throws {
        var machine = try makeMachine()
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.1, revisionId: nil, now: 1)])
        run(&machine, [
            (.stop(now: 10), [.persist, .rollback(toVersion: "1")]),
            (.stop(now: 11), []),
            (.rollbackFailed(reason: "throttled", now: 12), [.persist, .scheduleTick(at: 17)]),
            (.tick(now: 17), [.persist, .rollback(toVersion: "1")]),
            (.rollbackApplied(now: 18), [.persist, .notify(.deploymentRollback), .notify(.deploymentStop), .complete(.stopped)]),
        ])
        #expect(machine.snapshot.error?.code == .manualStop)
    }

    @Test func promoteJumpsToFullThenAfterTrafficHook() throws {
        var machine = try makeMachine(.linear(percent: 10, intervalSeconds: 600), hooks: [.afterTraffic])
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.1, revisionId: nil, now: 1)])
        let deadline = try #require(machine.deadline)
        run(&machine, [
            (.promote(now: 5), [.persist, .setPrimary(version: "2"), .scheduleTick(at: deadline)]),
            (.shiftApplied(weight: 1, revisionId: nil, now: 6), [.persist, .invokeHook(.afterTraffic), .scheduleTick(at: 606)]),
            (.hookFinished(.afterTraffic, succeeded: true, detail: "", now: 7), [.persist, .notify(.deploymentSuccess), .complete(.succeeded)]),
        ])
    }

    @Test func pauseShiftsTheSchedule() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 10))
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.25, revisionId: nil, now: 0)])
        // While paused nothing is due: no step, and the deadline (330) waits for the resume.
        var pausedPastDeadline = machine
        _ = pausedPastDeadline.handle(.pause(now: 5))
        #expect(pausedPastDeadline.handle(.tick(now: 400)) == [])
        #expect(pausedPastDeadline.status == .inProgress)
        run(&machine, [
            (.pause(now: 5), [.persist]),
            (.tick(now: 10), []),
            (.resume(now: 25), [.persist, .scheduleTick(at: 30)]),
            (.tick(now: 29), [.scheduleTick(at: 30)]),
            (.tick(now: 30), [.persist, .applyWeight(0.5), .scheduleTick(at: 350)]),
        ])
    }

    @Test func restartAdoptsAStepAppliedBeforeTheCrash() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 10))
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.25, revisionId: nil, now: 0)])
        #expect(machine.handle(.tick(now: 10)) == [.persist, .applyWeight(0.5), .scheduleTick(at: 330)])
        // Crash after UpdateAlias, before the result was persisted.
        var restored = try restarted(machine)
        #expect(restored.reconcile(aliasVersion: "1", additionalWeights: ["2": 0.5], now: 15) == [.persist, .scheduleTick(at: 20)])
        #expect(restored.snapshot.weight == 0.5)
        #expect(restored.handle(.tick(now: 20)) == [.persist, .applyWeight(0.75), .scheduleTick(at: 330)])
    }

    @Test func restartContinuesOnTheOriginalSchedule() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 10))
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.25, revisionId: nil, now: 0), .tick(now: 10)])
        // Crash after persist, before UpdateAlias; back up at 25 s: the clock says step 3 (0.75).
        var restored = try restarted(machine)
        #expect(restored.reconcile(aliasVersion: "1", additionalWeights: ["2": 0.25], now: 25) == [.persist, .applyWeight(0.75), .scheduleTick(at: 330)])
        #expect(restored.handle(.shiftApplied(weight: 0.75, revisionId: nil, now: 26)) == [.persist, .scheduleTick(at: 30)])
    }

    @Test func restartWithAnUnexplainedAliasRollsBack() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 10))
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.25, revisionId: nil, now: 0)])
        var restored = try restarted(machine)
        #expect(restored.reconcile(aliasVersion: "3", additionalWeights: [:], now: 5) == [.persist, .rollback(toVersion: "1")])
        #expect(restored.snapshot.error?.code == .internalError)
    }

    @Test func restartAfterTheDeadlineRollsBackWithTimeout() throws {
        var machine = try makeMachine(.linear(percent: 25, intervalSeconds: 10))
        _ = feed(&machine, [.start(now: 0), .shiftApplied(weight: 0.25, revisionId: nil, now: 0)])
        #expect(machine.deadline == 330)
        var restored = try restarted(machine)
        run(&restored, [
            (.aliasObserved(functionVersion: "1", additionalWeights: ["2": 0.25], now: 400), [.persist, .rollback(toVersion: "1")]),
            (.rollbackApplied(now: 401), [.persist, .notify(.deploymentRollback), .notify(.deploymentFailure), .complete(.failed)]),
        ])
        #expect(restored.snapshot.error?.code == .timeout)
        #expect(restored.snapshot.notified.contains(.deploymentStart))
    }

    @Test func shiftFailureRollsBack() throws {
        var machine = try makeMachine()
        _ = machine.handle(.start(now: 0))
        run(&machine, [
            (.shiftFailed(reason: "PreconditionFailed: RevisionId mismatch", now: 1), [.persist, .rollback(toVersion: "1")]),
            (.rollbackApplied(now: 2), [.persist, .notify(.deploymentRollback), .notify(.deploymentFailure), .complete(.failed)]),
        ])
        #expect(machine.status == .failed)
    }

    @Test func targetEqualToCurrentSucceedsSkipped() throws {
        var machine = try makeMachine(hooks: [.beforeTraffic], from: "2", to: "2")
        let actions = machine.handle(.start(now: 0))
        #expect(actions == [.persist, .notify(.deploymentStart), .notify(.deploymentSuccess), .complete(.succeeded)])
        #expect(!actions.contains { $0.isAliasChange })
        #expect(machine.snapshot.skipped)
        #expect(machine.status == .succeeded)
    }

    @Test func stopBeforeStartChangesNothing() throws {
        var machine = try makeMachine()
        #expect(machine.handle(.stop(now: 0)) == [.persist, .notify(.deploymentStop), .complete(.stopped)])
        #expect(machine.handle(.start(now: 1)) == [])
    }
}
