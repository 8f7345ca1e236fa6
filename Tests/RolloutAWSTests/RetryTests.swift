import CurlHTTP
import RolloutAWS
import Testing

@Suite("Standard retry mode: the pure state machine")
struct RetryTests {
    let policy = RetryPolicy.standard()

    // MARK: Backoff

    @Test("full-jitter backoff: jitter × min(base × 2^(attempt−1), 20 s), 1 s base for throttling")
    func throttlingBackoff() {
        #expect(policy.backoff(afterAttempt: 1, failureClass: .throttling, jitter: 1, retryAfter: nil) == .seconds(1))
        #expect(policy.backoff(afterAttempt: 2, failureClass: .throttling, jitter: 1, retryAfter: nil) == .seconds(2))
        #expect(policy.backoff(afterAttempt: 3, failureClass: .throttling, jitter: 0.5, retryAfter: nil) == .seconds(2))
        #expect(policy.backoff(afterAttempt: 5, failureClass: .throttling, jitter: 1, retryAfter: nil) == .seconds(16))
        // The 20 s cap.
        #expect(policy.backoff(afterAttempt: 6, failureClass: .throttling, jitter: 1, retryAfter: nil) == .seconds(20))
        #expect(policy.backoff(afterAttempt: 60, failureClass: .throttling, jitter: 1, retryAfter: nil) == .seconds(20))
        #expect(policy.backoff(afterAttempt: 2, failureClass: .throttling, jitter: 0, retryAfter: nil) == .zero)
        // Jitter outside 0...1 is clamped.
        #expect(policy.backoff(afterAttempt: 1, failureClass: .throttling, jitter: 7, retryAfter: nil) == .seconds(1))
        #expect(policy.backoff(afterAttempt: 1, failureClass: .throttling, jitter: -1, retryAfter: nil) == .zero)
    }

    @Test("transient errors use retry 2.1's 50 ms base; timeouts too")
    func transientBackoff() {
        #expect(policy.backoff(afterAttempt: 1, failureClass: .transient, jitter: 1, retryAfter: nil) == .milliseconds(50))
        #expect(policy.backoff(afterAttempt: 3, failureClass: .transient, jitter: 1, retryAfter: nil) == .milliseconds(200))
        #expect(policy.backoff(afterAttempt: 3, failureClass: .timeout, jitter: 0.5, retryAfter: nil) == .milliseconds(100))
        #expect(policy.backoff(afterAttempt: 20, failureClass: .transient, jitter: 1, retryAfter: nil) == .seconds(20))
        // Plain standard mode: 1 s for everything.
        let plain = RetryPolicy(transientBase: .seconds(1))
        #expect(plain.backoff(afterAttempt: 2, failureClass: .transient, jitter: 1, retryAfter: nil) == .seconds(2))
    }

    @Test("every backoff lies in [0, ceiling] for any jitter")
    func backoffBounds() {
        for attempt in 1...12 {
            for failureClass in [RetryFailureClass.throttling, .transient, .timeout] {
                let ceiling = policy.backoffCeiling(afterAttempt: attempt, failureClass: failureClass)
                #expect(ceiling <= .seconds(20))
                for step in 0...10 {
                    let delay = policy.backoff(
                        afterAttempt: attempt, failureClass: failureClass, jitter: Double(step) / 10, retryAfter: nil
                    )
                    #expect(delay >= .zero && delay <= ceiling)
                }
            }
        }
    }

    @Test("x-amz-retry-after is honoured within [t, t + 5 s]")
    func retryAfterBounds() {
        // t = 0.5 × 1 s = 500 ms.
        func delay(_ retryAfter: Duration?) -> Duration {
            policy.backoff(afterAttempt: 1, failureClass: .throttling, jitter: 0.5, retryAfter: retryAfter)
        }
        #expect(delay(nil) == .milliseconds(500))
        #expect(delay(.milliseconds(3000)) == .milliseconds(3000))
        #expect(delay(.milliseconds(100)) == .milliseconds(500), "never shorter than our own backoff")
        #expect(delay(.seconds(60)) == .milliseconds(5500), "never more than 5 s beyond it")
        #expect(delay(.zero) == .milliseconds(500))
    }

    // MARK: Token bucket

    @Test("the bucket: 500 tokens, acquire fails without taking when short, release caps at capacity")
    func bucket() {
        var bucket = RetryTokenBucket()
        #expect(bucket.capacity == 500 && bucket.available == 500)
        let took = bucket.acquire(5)
        #expect(took)
        #expect(bucket.available == 495)
        bucket.release(100)
        #expect(bucket.available == 500)
        var small = RetryTokenBucket(capacity: 7)
        let first = small.acquire(5)
        let second = small.acquire(5)
        #expect(first && !second)
        #expect(small.available == 2)
    }

    @Test("a retry costs 5, a timeout retry 10; success refunds the last retry's cost")
    func costsAndRefunds() {
        var drained = RetryTokenBucket(capacity: 500)
        _ = drained.acquire(100)  // leave room so refunds are visible
        var state = RetryState(policy: policy)

        let first = state.recordFailure(RetryFailure(.transient), bucket: &drained, jitter: 0)
        #expect(first == .retry(after: .zero, attempt: 2))
        #expect(drained.available == 395)
        #expect(state.heldTokens == 5)

        let second = state.recordFailure(RetryFailure(.timeout), bucket: &drained, jitter: 0)
        #expect(second == .retry(after: .zero, attempt: 3))
        #expect(drained.available == 385)
        #expect(state.heldTokens == 10)

        state.recordSuccess(bucket: &drained)
        #expect(drained.available == 395, "refunds the last retry's 10, as botocore does")
        #expect(state.heldTokens == nil)
    }

    @Test("a first-attempt success refunds 1 (never beyond capacity)")
    func noRetryIncrement() {
        var bucket = RetryTokenBucket()
        _ = bucket.acquire(10)
        var state = RetryState(policy: policy)
        state.recordSuccess(bucket: &bucket)
        #expect(bucket.available == 491)
        var full = RetryTokenBucket()
        var other = RetryState(policy: policy)
        other.recordSuccess(bucket: &full)
        #expect(full.available == 500)
    }

    // MARK: Decisions

    @Test("max attempts: 3 attempts, then attemptsExhausted with the next backoff ceiling as the hint")
    func attemptsExhausted() {
        var bucket = RetryTokenBucket()
        var state = RetryState(policy: policy)
        let failure = RetryFailure(.throttling)
        let first = state.recordFailure(failure, bucket: &bucket, jitter: 0.25)
        let second = state.recordFailure(failure, bucket: &bucket, jitter: 0.25)
        #expect(first == .retry(after: .milliseconds(250), attempt: 2))
        #expect(second == .retry(after: .milliseconds(500), attempt: 3))
        let decision = state.recordFailure(failure, bucket: &bucket, jitter: 0.25)
        #expect(
            decision
                == .fail(RetryStop(reason: .attemptsExhausted, attempts: 3, backoffHint: .seconds(4), delayBeforeFailing: .zero))
        )
        #expect(bucket.available == 490, "the failing last attempt takes nothing")
    }

    @Test("max_attempts = 1 never retries")
    func singleAttempt() {
        var bucket = RetryTokenBucket()
        var state = RetryState(policy: .standard(maxAttempts: 1))
        guard case .fail(let stop) = state.recordFailure(RetryFailure(.transient), bucket: &bucket, jitter: 1) else {
            Issue.record("expected no retry")
            return
        }
        #expect(stop.reason == .attemptsExhausted && stop.attempts == 1 && stop.backoffHint == .milliseconds(50))
        #expect(bucket.available == 500)
    }

    @Test("non-retryable failures stop at once without a hint")
    func notRetryable() {
        var bucket = RetryTokenBucket()
        var state = RetryState(policy: policy)
        let decision = state.recordFailure(RetryFailure(.notRetryable), bucket: &bucket, jitter: 0.5)
        #expect(decision == .fail(RetryStop(reason: .notRetryable, attempts: 1, backoffHint: nil, delayBeforeFailing: .zero)))
        #expect(bucket.available == 500)
    }

    @Test("an empty bucket stops retries; a long poll still waits one backoff so it cannot spin")
    func quotaExhausted() {
        var bucket = RetryTokenBucket(capacity: 7)
        var state = RetryState(policy: policy)
        let first = state.recordFailure(RetryFailure(.transient), bucket: &bucket, jitter: 1)
        #expect(first == .retry(after: .milliseconds(50), attempt: 2))
        let decision = state.recordFailure(RetryFailure(.transient), bucket: &bucket, jitter: 1)
        #expect(
            decision
                == .fail(RetryStop(reason: .quotaExhausted, attempts: 2, backoffHint: .milliseconds(100), delayBeforeFailing: .zero))
        )
        #expect(bucket.available == 2)

        var empty = RetryTokenBucket(capacity: 0)
        var poll = RetryState(policy: policy, isLongPoll: true)
        let pollDecision = poll.recordFailure(RetryFailure(.throttling), bucket: &empty, jitter: 0.5)
        #expect(
            pollDecision
                == .fail(RetryStop(reason: .quotaExhausted, attempts: 1, backoffHint: .seconds(1), delayBeforeFailing: .milliseconds(500)))
        )
    }

    @Test("a drained bucket refills from successes")
    func drainAndRefill() {
        var bucket = RetryTokenBucket()
        var retries = 0
        // Calls that fail once then succeed: each takes 5 and gives 5 back.
        for _ in 0..<200 {
            var state = RetryState(policy: policy)
            if case .retry = state.recordFailure(RetryFailure(.transient), bucket: &bucket, jitter: 0) { retries += 1 }
            state.recordSuccess(bucket: &bucket)
        }
        #expect(retries == 200 && bucket.available == 500)
        // Calls that always fail drain it: 100 retries of 5 tokens, then none.
        retries = 0
        for _ in 0..<200 {
            var state = RetryState(policy: policy)
            while case .retry = state.recordFailure(RetryFailure(.transient), bucket: &bucket, jitter: 0) { retries += 1 }
        }
        #expect(retries == 100 && bucket.available == 0)
    }

    @Test("retry-after raises the hint within its bound")
    func retryAfterHint() {
        var bucket = RetryTokenBucket()
        var state = RetryState(policy: .standard(maxAttempts: 1))
        let decision = state.recordFailure(RetryFailure(.throttling, retryAfter: .seconds(3)), bucket: &bucket, jitter: 0)
        guard case .fail(let stop) = decision else {
            Issue.record("expected a stop")
            return
        }
        #expect(stop.backoffHint == .seconds(3))
        var other = RetryState(policy: .standard(maxAttempts: 1))
        guard case .fail(let capped) = other.recordFailure(RetryFailure(.throttling, retryAfter: .seconds(60)), bucket: &bucket, jitter: 0)
        else {
            Issue.record("expected a stop")
            return
        }
        #expect(capped.backoffHint == .seconds(6), "1 s ceiling + at most 5 s")
    }

    // MARK: Classification

    @Test(
        "classification table",
        arguments: [
            (400, ["ThrottlingException"], RetryFailureClass.throttling),
            (400, ["Throttling"], .throttling),
            (400, ["TooManyRequestsException"], .throttling),
            (400, ["ProvisionedThroughputExceededException"], .throttling),
            (400, ["RequestLimitExceeded"], .throttling),
            (509, ["BandwidthLimitExceeded"], .throttling),
            (400, ["LimitExceededException"], .throttling),
            (400, ["RequestThrottled"], .throttling),
            (400, ["RequestThrottledException"], .throttling),
            (400, ["ThrottledException"], .throttling),
            (400, ["TransactionInProgressException"], .throttling),
            (503, ["EC2ThrottledException"], .throttling),
            (503, ["SlowDown"], .throttling),
            (400, ["PriorRequestNotComplete"], .throttling),
            (429, [], .throttling),
            (429, ["Whatever"], .throttling),
            (400, ["AWS.SimpleQueueService.NonExistentQueue", "ThrottlingException"], .throttling),
            (400, ["RequestTimeout"], .transient),
            (408, ["RequestTimeoutException"], .transient),
            (500, [], .transient),
            (500, ["InternalFailure"], .transient),
            (502, [], .transient),
            (503, ["ServiceUnavailable"], .transient),
            (504, [], .transient),
            (501, ["NotImplemented"], .notRetryable),
            (400, ["ValidationException"], .notRetryable),
            (404, ["ResourceNotFoundException"], .notRetryable),
            (403, ["AccessDenied"], .notRetryable),
            (412, ["PreconditionFailed"], .notRetryable),
            (400, [], .notRetryable),
        ] as [(Int, [String], RetryFailureClass)]
    )
    func classification(status: Int, codes: [String], expected: RetryFailureClass) {
        #expect(RetryClassifier.classify(httpStatus: status, errorCodes: codes) == expected)
    }

    @Test("transport failures: connect/io transient, timeout costs more, the rest are final")
    func transportClassification() {
        #expect(RetryClassifier.classify(transport: .connect) == .transient)
        #expect(RetryClassifier.classify(transport: .io) == .transient)
        #expect(RetryClassifier.classify(transport: .timeout) == .timeout)
        #expect(RetryClassifier.classify(transport: .tooLarge) == .notRetryable)
        #expect(RetryClassifier.classify(transport: .cancelled) == .notRetryable)
        #expect(RetryClassifier.classify(transport: .local) == .notRetryable)
    }

    @Test("max_attempts below 1 means 1")
    func attemptFloor() {
        #expect(RetryPolicy.standard(maxAttempts: 0).maxAttempts == 1)
    }
}
