public import RolloutCore

extension Deployment {
    /// The wire form of a native deployment's record.
    public init(record: RolloutRecord, machine: RolloutStateMachine) {
        let snapshot = machine.snapshot
        self.init(
            deploymentId: record.deploymentId, engine: record.engine, function: record.function, alias: record.alias,
            fromVersion: record.fromVersion, toVersion: record.toVersion, strategy: record.request.strategy,
            status: snapshot.status, weight: snapshot.weight,
            nextStepAt: snapshot.status.isTerminal || snapshot.pausedAt != nil ? nil : machine.nextStepAt.map { RFC3339.format(seconds: $0) },
            startedAt: RFC3339.format(seconds: snapshot.startedAt ?? record.createdAt),
            completedAt: snapshot.completedAt.map { RFC3339.format(seconds: $0) },
            rolledBack: snapshot.rolledBack, skipped: snapshot.skipped ? true : nil,
            paused: snapshot.pausedAt != nil ? true : nil, error: snapshot.error,
            events: snapshot.events.map(Deployment.Event.init)
        )
    }
}
