/// The pure state machine behind `autoExtend` leases (SPEC §4.3): which received messages the
/// daemon keeps invisible, when each must be extended, and which to release when their
/// connection closes. No clock and no I/O: callers pass `now` and carry out the actions.
public struct LeaseBook: Sendable, Hashable {
    /// One leased message.
    public struct Lease: Sendable, Hashable {
        /// The receipt of the latest receive.
        public var receipt: String
        /// The connection that received it.
        public var connectionID: UInt64
        /// The visibility timeout each extension sets.
        public var visibilitySeconds: Int
        /// When the next extension is due (seconds, caller's clock).
        public var extendAt: Double
    }

    /// Leases by receipt.
    public private(set) var leases: [String: Lease] = [:]

    /// An empty book.
    public init() {}

    /// Extensions are due halfway through the visibility timeout, so a slow or failed
    /// attempt still lands before the message reappears.
    static func extendAt(now: Double, visibilitySeconds: Int) -> Double {
        now + max(0.2, Double(visibilitySeconds) / 2)
    }

    /// Records messages received with `autoExtend`.
    public mutating func leased(receipts: [String], connectionID: UInt64, visibilitySeconds: Int, now: Double) {
        for receipt in receipts {
            leases[receipt] = Lease(
                receipt: receipt, connectionID: connectionID, visibilitySeconds: visibilitySeconds,
                extendAt: Self.extendAt(now: now, visibilitySeconds: visibilitySeconds)
            )
        }
    }

    /// The message was acked, nacked or extended by hand: the daemon stops extending it.
    @discardableResult
    public mutating func settled(receipt: String) -> Bool {
        leases.removeValue(forKey: receipt) != nil
    }

    /// Receipts whose extension is due at `now`.
    public func due(now: Double) -> [Lease] {
        leases.values.filter { $0.extendAt <= now }.sorted { $0.extendAt < $1.extendAt }
    }

    /// Records a successful extension.
    public mutating func extended(receipt: String, now: Double) {
        guard var lease = leases[receipt] else { return }
        lease.extendAt = Self.extendAt(now: now, visibilitySeconds: lease.visibilitySeconds)
        leases[receipt] = lease
    }

    /// The connection closed: returns the receipts to release (make visible again).
    public mutating func connectionClosed(_ connectionID: UInt64) -> [String] {
        let receipts = leases.values.filter { $0.connectionID == connectionID }.map(\.receipt)
        for receipt in receipts { leases.removeValue(forKey: receipt) }
        return receipts.sorted()
    }

    /// Shutdown: returns every receipt to release.
    public mutating func releaseAll() -> [String] {
        defer { leases.removeAll() }
        return leases.keys.sorted()
    }

    /// When the next extension is due, if any lease is held.
    public var nextDue: Double? {
        leases.values.map(\.extendAt).min()
    }
}
