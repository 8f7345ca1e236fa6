import Foundation
import RolloutCore
import RolloutEngine
import Testing

typealias Action = RolloutStateMachine.Action
typealias Event = RolloutStateMachine.Event

func makeMachine(
    _ strategy: Strategy = .canary(percent: 10, intervalSeconds: 60), hooks: Set<Hook> = [], alarms: [String] = [],
    from: String = "1", to: String = "2"
) throws -> RolloutStateMachine {
    try RolloutStateMachine(
        .init(
            fromVersion: from, toVersion: to, strategy: strategy, hooks: hooks, hookTimeoutSeconds: 600,
            alarms: alarms, alarmPollSeconds: 30, deadlineMarginSeconds: 300
        )
    )
}

/// Feeds events in order and checks each returned action list.
func run(_ machine: inout RolloutStateMachine, _ table: [(Event, [Action])], sourceLocation: SourceLocation = #_sourceLocation) {
    for (event, expected) in table {
        let actions = machine.handle(event)
        #expect(actions == expected, "after \(event)", sourceLocation: sourceLocation)
    }
}

/// Feeds events and returns every action.
func feed(_ machine: inout RolloutStateMachine, _ events: [Event]) -> [Action] {
    events.flatMap { machine.handle($0) }
}

extension Action {
    /// Changes the alias.
    var isAliasChange: Bool {
        switch self {
        case .applyWeight, .setPrimary, .rollback: true
        default: false
        }
    }
}

/// Round-trips the snapshot through JSON, as the store does.
func restarted(_ machine: RolloutStateMachine) throws -> RolloutStateMachine {
    let data = try JSONEncoder().encode(machine.snapshot)
    return RolloutStateMachine(restoring: try JSONDecoder().decode(RolloutStateMachine.Snapshot.self, from: data))
}
