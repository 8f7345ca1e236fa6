import Logging
import RolloutCore
import ServiceLifecycle
import Synchronization

/// Executes a ``LeaseBook``: extends `autoExtend` messages before their visibility lapses,
/// releases them (visibility 0) when their connection closes, and releases all of them at
/// shutdown.
final class LeaseKeeper: Service, Sendable {
    private let queue: any MessageQueue
    private let logger: Logger
    private let book = Mutex(LeaseBook())
    private let doorbell = Doorbell()
    private let stopping = Atomic<Bool>(false)
    private static let epoch = ContinuousClock.now

    init(queue: any MessageQueue, logger: Logger) {
        self.queue = queue
        self.logger = logger
    }

    func leased(_ receipts: [String], connectionID: UInt64, visibilitySeconds: Int) {
        book.withLock { $0.leased(receipts: receipts, connectionID: connectionID, visibilitySeconds: visibilitySeconds, now: Self.now()) }
        doorbell.ring()
    }

    func settled(_ receipt: String) {
        _ = book.withLock { $0.settled(receipt: receipt) }
    }

    func connectionClosed(_ connectionID: UInt64) {
        let receipts = book.withLock { $0.connectionClosed(connectionID) }
        guard !receipts.isEmpty else { return }
        let queue = self.queue
        let logger = self.logger
        Task {
            await Self.release(receipts, queue: queue, logger: logger)
        }
    }

    func run() async throws {
        await withGracefulShutdownHandler {
            await extendLoop()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.doorbell.ring()
        }
        let receipts = book.withLock { $0.releaseAll() }
        await Self.release(receipts, queue: queue, logger: logger)
    }

    private func extendLoop() async {
        while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
            let now = Self.now()
            for lease in book.withLock({ $0.due(now: now) }) {
                do {
                    try await queue.changeVisibility(receipt: lease.receipt, seconds: lease.visibilitySeconds)
                    book.withLock { $0.extended(receipt: lease.receipt, now: Self.now()) }
                } catch {
                    logger.warning("lease extension failed", metadata: ["error": "\(error)"])
                    _ = book.withLock { $0.settled(receipt: lease.receipt) }
                }
            }
            let delay = book.withLock { $0.nextDue }.map { max(0.05, $0 - Self.now()) } ?? 3600
            await doorbell.wait(upTo: .milliseconds(Int64(delay * 1000)))
        }
    }

    private static func release(_ receipts: [String], queue: any MessageQueue, logger: Logger) async {
        for receipt in receipts {
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
