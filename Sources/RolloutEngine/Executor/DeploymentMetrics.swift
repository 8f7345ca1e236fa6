import Metrics
import RolloutCore

/// One running deployment's metrics (SPEC §6.1): its current weight as a gauge labelled by
/// deployment id, removed when the run ends so ended deployments leave no series behind, and a
/// count of the statuses it enters while this process runs it.
struct DeploymentMetrics {
    private let weight: Gauge
    private var status: DeploymentStatus

    /// Starts observing at `machine`'s state; the status it is already in is not counted again
    /// (a deployment resumed after a restart entered it earlier).
    init(deploymentId: String, machine: RolloutStateMachine) {
        weight = Gauge(label: MetricName.rolloutWeight, dimensions: [("deployment", deploymentId)])
        status = machine.status
        weight.record(machine.snapshot.weight)
    }

    /// Records the state after a batch of events.
    mutating func observe(_ machine: RolloutStateMachine) {
        weight.record(machine.snapshot.weight)
        guard machine.status != status else { return }
        status = machine.status
        Counter(label: MetricName.rollouts, dimensions: [("status", status.rawValue)]).increment()
    }

    /// The run ended: the weight series goes away.
    func end() {
        weight.destroy()
    }
}
