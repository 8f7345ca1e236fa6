/// One `autoExtend` lease as the state database keeps it (SPEC §1, §4.3).
public struct JournaledLease: Sendable, Hashable {
    /// The receipt of the latest receive.
    public var receipt: String
    /// The queue it came from (the provider's name for it: `local`, or the SQS queue URL).
    public var queue: String
    /// The connection that received it (unique per daemon run).
    public var connectionID: UInt64
    /// The visibility timeout each extension sets.
    public var visibilitySeconds: Int
    /// Until when the message is invisible (seconds since the epoch).
    public var leasedUntil: Double

    /// Creates a lease record.
    public init(receipt: String, queue: String, connectionID: UInt64, visibilitySeconds: Int, leasedUntil: Double) {
        self.receipt = receipt
        self.queue = queue
        self.connectionID = connectionID
        self.visibilitySeconds = visibilitySeconds
        self.leasedUntil = leasedUntil
    }
}

/// Where the lease keeper journals the messages it keeps invisible, so that a daemon started
/// after a crash releases (visibility 0) what the dead daemon's connections held at once,
/// instead of waiting for each visibility timeout to lapse. The daemon backs it with SQLite.
public protocol LeaseJournal: Sendable {
    /// Records (or replaces, by receipt) leases; called before the receive answers.
    func record(_ leases: [JournaledLease]) async throws
    /// A lease was extended: it now lasts until `leasedUntil`.
    func extended(receipt: String, leasedUntil: Double) async throws
    /// Forgets leases: acked, released, or no longer extended.
    func forget(receipts: [String]) async throws
    /// Every lease recorded, oldest first.
    func all() async throws -> [JournaledLease]
}

/// A ``LeaseJournal`` in memory (tests, and a daemon without a state store).
public actor InMemoryLeaseJournal: LeaseJournal {
    private var leases: [JournaledLease] = []

    /// An empty journal.
    public init() {}

    /// Records leases.
    public func record(_ leases: [JournaledLease]) {
        let receipts = Set(leases.map(\.receipt))
        self.leases.removeAll { receipts.contains($0.receipt) }
        self.leases += leases
    }

    /// Moves a lease's end.
    public func extended(receipt: String, leasedUntil: Double) {
        for index in leases.indices where leases[index].receipt == receipt {
            leases[index].leasedUntil = leasedUntil
        }
    }

    /// Forgets leases.
    public func forget(receipts: [String]) {
        let receipts = Set(receipts)
        leases.removeAll { receipts.contains($0.receipt) }
    }

    /// Every lease recorded.
    public func all() -> [JournaledLease] {
        leases
    }
}
