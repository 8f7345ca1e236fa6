/// One failed attempt, as the retry state machine sees it.
public struct RetryFailure: Sendable, Hashable {
    /// How it counts.
    public var failureClass: RetryFailureClass
    /// The server's `x-amz-retry-after`, when it sent one.
    public var retryAfter: Duration?

    /// A failure of class `failureClass`.
    public init(_ failureClass: RetryFailureClass, retryAfter: Duration? = nil) {
        self.failureClass = failureClass
        self.retryAfter = retryAfter
    }
}

/// What to do after a failed attempt.
public enum RetryDecision: Sendable, Hashable {
    /// Wait `after`, then send attempt number `attempt`.
    case retry(after: Duration, attempt: Int)
    /// Stop and report the failure.
    case fail(RetryStop)
}

/// Why retrying stopped, and the backoff to pass on.
public struct RetryStop: Sendable, Hashable {
    /// Why no further attempt is made.
    public enum Reason: Sendable, Hashable, CustomStringConvertible {
        /// The failure is not retryable.
        case notRetryable
        /// `maxAttempts` attempts were made.
        case attemptsExhausted
        /// The retry token bucket is empty.
        case quotaExhausted

        /// Words for error messages.
        public var description: String {
            switch self {
            case .notRetryable: "not retryable"
            case .attemptsExhausted: "attempts exhausted"
            case .quotaExhausted: "retry quota exhausted"
            }
        }
    }

    /// Why.
    public var reason: Reason
    /// Attempts made, the failed one included.
    public var attempts: Int
    /// For retryable failures: how long the caller should wait before trying again (the upper
    /// bound of the next backoff window, raised to the server's `x-amz-retry-after` within the
    /// policy's bound). This is `data.retryAfterMs`. Nil for non-retryable failures.
    public var backoffHint: Duration?
    /// How long to wait before reporting the failure: one jittered backoff when a long poll
    /// finds the bucket empty (so a receive loop cannot spin), zero otherwise.
    public var delayBeforeFailing: Duration

    /// A stop from its parts.
    public init(reason: Reason, attempts: Int, backoffHint: Duration?, delayBeforeFailing: Duration) {
        self.reason = reason
        self.attempts = attempts
        self.backoffHint = backoffHint
        self.delayBeforeFailing = delayBeforeFailing
    }
}

/// AWS standard retry mode for one call, as a pure state machine: no clock, no randomness
/// (the caller passes the jitter in), no I/O. The shared ``RetryTokenBucket`` is passed in
/// `inout` so the client can keep it behind its lock.
///
/// ```
/// var state = RetryState(policy: policy)
/// loop: send attempt state.attempt
///   success → state.recordSuccess(bucket: &bucket); done
///   failure → switch state.recordFailure(f, bucket: &bucket, jitter: rand())
///               .retry(after, _) → sleep(after); loop
///               .fail(stop)      → sleep(stop.delayBeforeFailing); report
/// ```
public struct RetryState: Sendable, Hashable {
    /// The policy.
    public let policy: RetryPolicy
    /// Whether the call is a long poll (SQS ReceiveMessage with a wait): an empty bucket then
    /// still costs one backoff before the failure is reported.
    public let isLongPoll: Bool
    /// The number of the attempt in flight (or just finished), from 1.
    public private(set) var attempt = 1
    /// Tokens taken for the latest retry; refunded when the call succeeds.
    public private(set) var heldTokens: Int?

    /// The state before the first attempt.
    public init(policy: RetryPolicy, isLongPoll: Bool = false) {
        self.policy = policy
        self.isLongPoll = isLongPoll
    }

    /// The current attempt succeeded: refund the latest retry's tokens, or the no-retry
    /// increment when there was no retry.
    public mutating func recordSuccess(bucket: inout RetryTokenBucket) {
        bucket.release(heldTokens ?? policy.noRetryIncrement)
        heldTokens = nil
    }

    /// The current attempt failed with `failure`: decide whether to retry, taking the retry's
    /// tokens from `bucket` when it does. `jitter` is a uniform random value in `0...1`.
    public mutating func recordFailure(
        _ failure: RetryFailure, bucket: inout RetryTokenBucket, jitter: Double
    ) -> RetryDecision {
        let failureClass = failure.failureClass
        guard failureClass.isRetryable else {
            return .fail(RetryStop(reason: .notRetryable, attempts: attempt, backoffHint: nil, delayBeforeFailing: .zero))
        }
        let hint = policy.honouringRetryAfter(
            policy.backoffCeiling(afterAttempt: attempt, failureClass: failureClass), failure.retryAfter
        )
        guard attempt < policy.maxAttempts else {
            return .fail(RetryStop(reason: .attemptsExhausted, attempts: attempt, backoffHint: hint, delayBeforeFailing: .zero))
        }
        let delay = policy.backoff(
            afterAttempt: attempt, failureClass: failureClass, jitter: jitter, retryAfter: failure.retryAfter
        )
        let cost = failureClass == .timeout ? policy.timeoutRetryCost : policy.retryCost
        guard bucket.acquire(cost) else {
            return .fail(
                RetryStop(
                    reason: .quotaExhausted, attempts: attempt, backoffHint: hint,
                    delayBeforeFailing: isLongPoll ? delay : .zero
                )
            )
        }
        heldTokens = cost
        attempt += 1
        return .retry(after: delay, attempt: attempt)
    }
}
