import Logging
import RolloutCore
import RolloutSystem
import ServiceLifecycle
import Synchronization

/// Executes a ``LeaseBook``: extends `autoExtend` messages before their visibility lapses,
/// releases them (visibility 0) when their connection closes, and releases all of them at
/// shutdown.
///
/// Every lease is journaled in the state database (``LeaseJournal``: receipt, queue,
/// connection, visibility, leased-until) before the receive answers, its row follows each
/// extension, and it is forgotten once the message is settled or released. When the daemon
/// starts, it releases at once what the journal holds for its queue (a daemon that died could
/// not release its connections' messages), then forgets those rows.
///
/// Releases happen in ``run()``, never in a task of their own, so that shutdown releases what
/// the closing connections left as well as what is still leased, before the database closes.
final class LeaseKeeper: Service, Sendable {
    private struct State {
        var book = LeaseBook()
        /// Receipts of closed connections, waiting for the run loop to release them.
        var toRelease: [String] = []
        /// Receipts settled by their client, waiting for the run loop to drop them from the journal.
        var toForget: [String] = []

        mutating func takeReleases() -> [String] {
            defer { toRelease = [] }
            return toRelease
        }

        mutating func takeForgotten() -> [String] {
            defer { toForget = [] }
            return toForget
        }
    }

    private let queue: any MessageQueue
    /// How the journal names the queue: `local`, or the SQS queue URL.
    private let queueName: String
    private let journal: any LeaseJournal
    private let logger: Logger
    private let state = Mutex(State())
    private let doorbell = Doorbell()
    private let stopping = Atomic<Bool>(false)
    private static let epoch = ContinuousClock.now
    /// The most the releases at shutdown may take; what is left then reappears when its
    /// visibility timeout lapses.
    private static let shutdownReleaseTime: Duration = .seconds(1)

    init(queue: any MessageQueue, queueName: String, journal: any LeaseJournal, logger: Logger) {
        self.queue = queue
        self.queueName = queueName
        self.journal = journal
        self.logger = logger
    }

    /// Starts extending `receipts`, journaling them first (a journal failure is logged: the
    /// messages then reappear after their visibility timeout if the daemon dies).
    func leased(_ receipts: [String], connectionID: UInt64, visibilitySeconds: Int) async {
        let leasedUntil = Self.wallClock() + Double(visibilitySeconds)
        let queueName = queueName
        do {
            try await journal.record(receipts.map { receipt in
                JournaledLease(
                    receipt: receipt, queue: queueName, connectionID: connectionID, visibilitySeconds: visibilitySeconds,
                    leasedUntil: leasedUntil
                )
            })
        } catch {
            logger.warning("cannot journal leases", metadata: ["error": "\(error)"])
        }
        state.withLock {
            $0.book.leased(receipts: receipts, connectionID: connectionID, visibilitySeconds: visibilitySeconds, now: Self.now())
        }
        doorbell.ring()
    }

    func settled(_ receipt: String) {
        let forget = state.withLock { state in
            guard state.book.settled(receipt: receipt) else { return false }
            state.toForget.append(receipt)
            return true
        }
        if forget { doorbell.ring() }
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
        await recover()
        await withGracefulShutdownHandler {
            await serve()
        } onGracefulShutdown: {
            self.stopping.store(true, ordering: .relaxed)
            self.doorbell.ring()
        }
        let (receipts, forgotten) = state.withLock { state in (state.takeReleases() + state.book.releaseAll(), state.takeForgotten()) }
        let queue = self.queue
        let journal = self.journal
        let logger = self.logger
        await awaitAtMost(Self.shutdownReleaseTime) {
            // Rows of messages not released in time stay: the next start releases them.
            let released = await Self.release(receipts, queue: queue, logger: logger)
            await Self.forget(forgotten + released, journal: journal, logger: logger)
        }
    }

    /// Releases what a daemon that died held (journaled leases on this queue), then forgets
    /// the rows read; rows of another queue (the provider changed) are forgotten too.
    private func recover() async {
        let leases: [JournaledLease]
        do {
            leases = try await journal.all()
        } catch {
            logger.warning("cannot read the lease journal", metadata: ["error": "\(error)"])
            return
        }
        guard !leases.isEmpty else { return }
        let mine = leases.filter { $0.queue == queueName }.map(\.receipt)
        let released = await Self.release(mine, queue: queue, logger: logger)
        logger.info(
            "released the messages leased before a restart",
            metadata: ["count": "\(released.count)", "journaled": "\(leases.count)"]
        )
        await Self.forget(leases.map(\.receipt), journal: journal, logger: logger)
    }

    /// Releases closed connections' messages and extends due leases until shutdown.
    private func serve() async {
        while !Task.isCancelled, !stopping.load(ordering: .relaxed) {
            let toRelease = state.withLock { $0.takeReleases() }
            await Self.release(toRelease, queue: queue, logger: logger)
            // A release that failed is forgotten too: its message reappears when its visibility lapses.
            await Self.forget(state.withLock { $0.takeForgotten() } + toRelease, journal: journal, logger: logger)
            let now = Self.now()
            for lease in state.withLock({ $0.book.due(now: now) }) {
                do {
                    try await queue.changeVisibility(receipt: lease.receipt, seconds: lease.visibilitySeconds)
                    state.withLock { $0.book.extended(receipt: lease.receipt, now: Self.now()) }
                    do {
                        try await journal.extended(receipt: lease.receipt, leasedUntil: Self.wallClock() + Double(lease.visibilitySeconds))
                    } catch {
                        logger.debug("cannot journal a lease extension", metadata: ["error": "\(error)"])
                    }
                } catch {
                    logger.warning("lease extension failed", metadata: ["error": "\(error)"])
                    _ = state.withLock { $0.book.settled(receipt: lease.receipt) }
                    await Self.forget([lease.receipt], journal: journal, logger: logger)
                }
            }
            let delay = state.withLock { $0.book.nextDue }.map { max(0.05, $0 - Self.now()) } ?? 3600
            await doorbell.wait(upTo: .milliseconds(Int64(delay * 1000)))
        }
    }

    /// Makes `receipts` visible again; returns those released.
    @discardableResult
    private static func release(_ receipts: [String], queue: any MessageQueue, logger: Logger) async -> [String] {
        var released: [String] = []
        for receipt in receipts where !Task.isCancelled {
            do {
                try await queue.changeVisibility(receipt: receipt, seconds: 0)
                released.append(receipt)
            } catch {
                logger.debug("lease release failed", metadata: ["error": "\(error)"])
            }
        }
        return released
    }

    private static func forget(_ receipts: [String], journal: any LeaseJournal, logger: Logger) async {
        guard !receipts.isEmpty else { return }
        do {
            try await journal.forget(receipts: receipts)
        } catch {
            logger.debug("cannot forget journaled leases", metadata: ["error": "\(error)"])
        }
    }

    /// Seconds since the epoch, for the journal's leased-until.
    private static func wallClock() -> Double {
        WallClock.seconds()
    }

    /// Monotonic seconds for the lease book.
    static func now() -> Double {
        let elapsed = ContinuousClock.now - epoch
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
