/// The settings of AWS **standard** retry mode (botocore `retries/standard.py` and `quota.py`,
/// the SDK reference guide's "retry behavior"), with two choices taken from retry behavior 2.1:
///
/// - **Backoff base.** Standard mode waits `rand(0,1) × min(base × 2^(attempt−1), 20 s)` with a
///   base of 1 s for every retryable error. We keep 1 s for throttling errors but use retry
///   2.1's **50 ms** base for transient errors (5xx, resets, timeouts): a dropped connection is
///   worth retrying at once, while throttling needs the longer wait to let the server recover.
///   ``standard`` with `transientBase: .seconds(1)` gives plain standard mode.
/// - **`x-amz-retry-after`** (milliseconds) is honoured, bounded to `[t, t + 5 s]` where `t` is
///   the computed backoff: the server can lengthen our wait by at most five seconds and never
///   shorten it.
///
/// The retry token bucket keeps standard mode's numbers: 500 tokens, a retry costs 5, a retry
/// after a timeout costs 10, a success on the first attempt refunds 1 and a success after retries
/// refunds the cost of its last retry. An empty bucket means no retry (the call fails at once,
/// or after one backoff for long polls, so a polling loop never spins).
public struct RetryPolicy: Sendable, Hashable {
    /// Attempts per call, the first one included (`[cloud.aws].max_attempts`). At least 1.
    public var maxAttempts: Int
    /// Backoff base for throttling errors.
    public var throttlingBase: Duration
    /// Backoff base for transient errors (5xx, transport failures).
    public var transientBase: Duration
    /// The longest computed backoff.
    public var maxBackoff: Duration
    /// How far `x-amz-retry-after` may lengthen the computed backoff.
    public var maxRetryAfterExtension: Duration
    /// Tokens in a full retry bucket.
    public var bucketCapacity: Int
    /// Tokens one retry takes.
    public var retryCost: Int
    /// Tokens one retry after a timeout takes.
    public var timeoutRetryCost: Int
    /// Tokens a success on the first attempt gives back.
    public var noRetryIncrement: Int

    /// A policy from its parts; see ``standard(maxAttempts:)`` for the defaults.
    public init(
        maxAttempts: Int = 3,
        throttlingBase: Duration = .seconds(1),
        transientBase: Duration = .milliseconds(50),
        maxBackoff: Duration = .seconds(20),
        maxRetryAfterExtension: Duration = .seconds(5),
        bucketCapacity: Int = 500,
        retryCost: Int = 5,
        timeoutRetryCost: Int = 10,
        noRetryIncrement: Int = 1
    ) {
        self.maxAttempts = max(1, maxAttempts)
        self.throttlingBase = throttlingBase
        self.transientBase = transientBase
        self.maxBackoff = maxBackoff
        self.maxRetryAfterExtension = maxRetryAfterExtension
        self.bucketCapacity = bucketCapacity
        self.retryCost = retryCost
        self.timeoutRetryCost = timeoutRetryCost
        self.noRetryIncrement = noRetryIncrement
    }

    /// Standard mode with `maxAttempts` attempts and the defaults described on the type.
    public static func standard(maxAttempts: Int = 3) -> RetryPolicy {
        RetryPolicy(maxAttempts: maxAttempts)
    }

    /// The base of the backoff for a failure of class `failureClass`.
    public func base(for failureClass: RetryFailureClass) -> Duration {
        failureClass == .throttling ? throttlingBase : transientBase
    }

    /// The upper bound of the full-jitter backoff after failed attempt number `attempt`
    /// (1-based): `min(base × 2^(attempt−1), maxBackoff)`.
    public func backoffCeiling(afterAttempt attempt: Int, failureClass: RetryFailureClass) -> Duration {
        let base = base(for: failureClass)
        let exponent = min(max(attempt - 1, 0), 40)
        let ceiling = base.nanosecondsDouble * Double(1 << UInt64(exponent))
        return .nanosecondsDouble(min(ceiling, maxBackoff.nanosecondsDouble))
    }

    /// The wait before retrying after failed attempt `attempt`: `jitter × ceiling`, then raised
    /// towards `retryAfter` (the server's `x-amz-retry-after`) by at most
    /// ``maxRetryAfterExtension``. `jitter` is clamped to `0...1`.
    public func backoff(
        afterAttempt attempt: Int, failureClass: RetryFailureClass, jitter: Double, retryAfter: Duration?
    ) -> Duration {
        let jitter = jitter.isNaN ? 0 : min(max(jitter, 0), 1)
        let computed = Duration.nanosecondsDouble(
            backoffCeiling(afterAttempt: attempt, failureClass: failureClass).nanosecondsDouble * jitter
        )
        return honouringRetryAfter(computed, retryAfter)
    }

    /// `max(t, min(retryAfter, t + maxRetryAfterExtension))`.
    func honouringRetryAfter(_ computed: Duration, _ retryAfter: Duration?) -> Duration {
        guard let retryAfter, retryAfter > computed else { return computed }
        return min(retryAfter, computed + maxRetryAfterExtension)
    }
}

extension Duration {
    /// The duration in nanoseconds, as a `Double`.
    var nanosecondsDouble: Double {
        let parts = components
        return Double(parts.seconds) * 1e9 + Double(parts.attoseconds) / 1e9
    }

    /// A duration of `nanoseconds` (rounded down to whole nanoseconds; negative becomes zero).
    static func nanosecondsDouble(_ nanoseconds: Double) -> Duration {
        guard nanoseconds.isFinite, nanoseconds > 0 else { return .zero }
        return .nanoseconds(Int64(min(nanoseconds, 9.2e18)))
    }

    /// Whole milliseconds, rounded up (a hint of 0.4 ms is 1 ms, not 0).
    var wholeMillisecondsRoundedUp: Int64 {
        Int64((nanosecondsDouble / 1e6).rounded(.up))
    }
}
