public import ServiceLifecycle
import Synchronization

/// What `/readyz` answers: ready once the daemon serves (SPEC §6 start), not ready while
/// starting, while draining after a shutdown signal, or while the health check reports a problem.
///
/// The health check (`sys.health`, which may ask the credential chain) runs at most once per
/// ``cacheLifetime``; probes in between get the cached answer.
public final class Readiness: Sendable {
    /// The daemon's lifecycle as a probe sees it.
    public enum Phase: Sendable, Hashable {
        /// Configuration, database, provider: not serving yet.
        case starting
        /// Serving requests.
        case ready
        /// Shutdown began: no new work is taken.
        case draining
    }

    /// How long a health answer is reused.
    public let cacheLifetime: Duration
    private let healthProblem: @Sendable () async -> String?
    private let state = Mutex(State())

    private struct State {
        var phase = Phase.starting
        var cached: (problem: String?, at: ContinuousClock.Instant)?
    }

    /// - Parameter healthProblem: nil while healthy, else why not (e.g. "degraded: secrets: no
    ///   AWS credentials ..."). Called at most once per `cacheLifetime`.
    public init(cacheLifetime: Duration = .seconds(1), healthProblem: @escaping @Sendable () async -> String?) {
        self.cacheLifetime = cacheLifetime
        self.healthProblem = healthProblem
    }

    /// The current phase.
    public var phase: Phase { state.withLock { $0.phase } }

    /// The daemon serves: probes may pass.
    public func markReady() {
        state.withLock { if $0.phase == .starting { $0.phase = .ready } }
    }

    /// Shutdown began: probes fail from now on.
    public func markDraining() {
        state.withLock { $0.phase = .draining }
    }

    /// nil when ready, else the reason it is not.
    public func notReadyReason() async -> String? {
        let now = ContinuousClock.now
        let (phase, cached) = state.withLock { ($0.phase, $0.cached) }
        switch phase {
        case .starting: return "starting"
        case .draining: return "draining"
        case .ready: break
        }
        if let cached, now - cached.at < cacheLifetime { return cached.problem }
        let problem = await healthProblem()
        state.withLock { $0.cached = (problem, ContinuousClock.now) }
        // A shutdown that began while the check ran wins over its answer.
        return self.phase == .draining ? "draining" : problem
    }
}

/// Marks a ``Readiness`` as draining the moment graceful shutdown begins. Place it after the
/// services that drain: services shut down in reverse order, so it is told first.
public struct DrainSignal: Service {
    private let readiness: Readiness

    /// A service that flips `readiness` to draining on graceful shutdown.
    public init(readiness: Readiness) {
        self.readiness = readiness
    }

    /// Waits for graceful shutdown (or cancellation), then marks draining.
    public func run() async throws {
        try? await gracefulShutdown()
        readiness.markDraining()
    }
}
