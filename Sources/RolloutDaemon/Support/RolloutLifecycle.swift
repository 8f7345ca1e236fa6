import Logging
import RolloutEngine
import ServiceLifecycle

/// Runs the rollout engines inside the daemon's service group: resumes unfinished deployments
/// at startup and, at shutdown, ends every task the engines started (records kept).
struct RolloutLifecycle: Service {
    let rollouts: RolloutCoordinator
    let logger: Logger
    /// The most stopping the engines may take; a task that ignores cancellation is left behind
    /// (its record stays, and the next start reconciles the deployment).
    private static let shutdownTime: Duration = .seconds(1)

    func run() async throws {
        do {
            try await rollouts.recover()
        } catch {
            logger.error("cannot resume unfinished deployments", metadata: ["error": "\(error)"])
        }
        try? await gracefulShutdown()
        let rollouts = self.rollouts
        await awaitAtMost(Self.shutdownTime) { await rollouts.shutdown() }
    }
}
