/// The retry quota of standard mode (botocore `RetryQuota`): a bucket of tokens that retries
/// take from and successes put back, so a failing service is not hammered by every caller's
/// retries at once. One bucket per client, shared by all of its calls.
///
/// A plain value: the client keeps it behind a lock and lets ``RetryState`` change it.
public struct RetryTokenBucket: Sendable, Hashable {
    /// Tokens in a full bucket.
    public let capacity: Int
    /// Tokens left.
    public private(set) var available: Int

    /// A full bucket of `capacity` tokens.
    public init(capacity: Int = 500) {
        self.capacity = max(0, capacity)
        self.available = self.capacity
    }

    /// A full bucket sized by `policy`.
    public init(policy: RetryPolicy) {
        self.init(capacity: policy.bucketCapacity)
    }

    /// Takes `amount` tokens; false (and nothing taken) when fewer are left.
    public mutating func acquire(_ amount: Int) -> Bool {
        guard amount <= available else { return false }
        available -= amount
        return true
    }

    /// Puts `amount` tokens back, never beyond ``capacity``.
    public mutating func release(_ amount: Int) {
        available = min(capacity, available + max(0, amount))
    }
}
