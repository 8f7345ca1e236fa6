import Logging
import RolloutCore
import ServiceLifecycle
import Synchronization

/// Executes a ``LeaseBook``: extends `autoExtend` messages before their visibility lapses,
/// releases them (visibility 0) when their connection closes, and releases all of them at
/// shutdown.
///
/// Releases happen in ``run()``, never in a task of their own, so that shutdown releases what
/// the closing connections left as well as what is still leased, before the database closes.
final class LeaseKeeper: Service, Sendable {
    private struct State {
        var book = LeaseBook()
        /// Receipts of closed connections, waiting for the run loop to release them.
        var toRelease: [String] = []

        mutating func takeReleases() -> [String] {
            defer { toRelease = [] }
            return toRelease
        }
    }

    private let queue: any MessageQueue
    private let logger: Logger
    private let state = Mutex(State())
    private let doorbell = Doorbell()
    private let stopping = Atomic<Bool>(false)
    private static let epoch = ContinuousClock.now
    /// The most the releases at shutdown may take; what is left then reappears when its
    /// visibility timeout lapses.
    private static let shutdownReleaseTime: Duration = .seconds(1)

    init(queue: any MessageQueue, logger: Logger) {
        self.queue = queue
        self.logger = logger
    }

    func leased(_ receipts: [String], connectionID: UInt64, visibilitySeconds: Int) {
        state.withLock {
            $0.book.leased(receipts: receipts, connectionID: connectionID, visibilitySeconds: visibilitySeconds, now: Self.now())
        }
        doorbell.ring()
    }

    func settled(_ receipt: String) {
        _ = state.withLock { $0.book.settled(receipt: receipt) }
    }

    func connectionClosed(_ connectionID: UInt64) {
        let released = state.withLock { state -> Bool in
            let receipts = state.book.connectionClosed(connectionID)
            state.toRelease += receipts
            return !receipts.isEmpty
        }
        if released { doorbell.ring() }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await serve()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.doorbell.ring()
        }
        let receipts = state.withLock { state in state.takeReleases() + state.book.releaseAll() }
        let queue = self.queue
        let logger = self.logger
        await awaitAtMost(Self.shutdownReleaseTime) {
            await Self.release(receipts, queue: queue, logger: logger)
        }
    }

    /// Releases closed connections' messages and extends due leases until shutdown.
    private func serve() async {
        while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
            await Self.release(state.withLock { $0.takeReleases() }, queue: queue, logger: logger)
            let now = Self.now()
            for lease in state.withLock({ $0.book.due(now: now) }) {
                do {
                    try await queue.changeVisibility(receipt: lease.receipt, seconds: lease.visibilitySeconds)
                    state.withLock { $0.book.extended(receipt: lease.receipt, now: Self.now()) }
                } catch {
                    logger.warning("lease extension failed", metadata: ["error": "\(error)"])
                    _ = state.withLock { $0.book.settled(receipt: lease.receipt) }
                }
            }
            let delay = state.withLock { $0.book.nextDue }.map { max(0.05, $0 - Self.now()) } ?? 3600
            await doorbell.wait(upTo: .milliseconds(Int64(delay * 1000)))
        }
    }

    private static func release(_ receipts: [String], queue: any MessageQueue, logger: Logger) async {
        for receipt in receipts where !Task.isCancelled {
            do {
                try await queue.changeVisibility(receipt: receipt, seconds: 0)
            } catch {
                logger.debug("lease release failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Monotonic seconds for the lease book.
    static func now() -> Double {
        let elapsed = ContinuousClock.now - epoch
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
