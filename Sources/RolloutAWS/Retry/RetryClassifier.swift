public import CurlHTTP

/// How a failed attempt counts for retries.
public enum RetryFailureClass: Sendable, Hashable, CustomStringConvertible {
    /// The service throttled us (a throttling code, HTTP 429): retried with the 1 s base,
    /// reported as `Throttled` when retries run out.
    case throttling
    /// A transient failure (HTTP 500/502/503/504, a transient code, a refused or broken
    /// connection): retried, reported as `Unavailable`.
    case transient
    /// A time limit passed: transient, but a retry costs the timeout price (10 tokens).
    case timeout
    /// Retrying cannot help (4xx other than throttling, local errors, cancellation).
    case notRetryable

    /// Whether standard mode retries it.
    public var isRetryable: Bool { self != .notRetryable }

    /// `throttling`, `transient`, `timeout` or `notRetryable`.
    public var description: String {
        switch self {
        case .throttling: "throttling"
        case .transient: "transient"
        case .timeout: "timeout"
        case .notRetryable: "notRetryable"
        }
    }
}

/// Standard mode's classification of a failed attempt (botocore `retries/standard.py`,
/// SDK reference "retry behavior"), plus HTTP 429 as throttling.
public enum RetryClassifier {
    /// Error codes that mean "slow down" (checked before the transient rules, so S3's
    /// `SlowDown` 503 is throttling, not a plain 503).
    public static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
        // SQS's legacy (query-compatible) spelling of RequestThrottled.
        "AWS.SimpleQueueService.RequestThrottled",
    ]

    /// Error codes that are transient whatever the status.
    public static let transientCodes: Set<String> = [
        "RequestTimeout", "RequestTimeoutException", "PriorRequestNotComplete",
    ]

    /// HTTP statuses that are transient.
    public static let transientStatuses: Set<Int> = [500, 502, 503, 504]

    /// Statuses that are throttling whatever the code.
    public static let throttlingStatuses: Set<Int> = [429]

    /// The class of an HTTP error response with status `httpStatus` whose error codes (the
    /// parsed code and any alternative spelling, e.g. SQS's `__type` and `x-amzn-query-error`)
    /// are `errorCodes`.
    public static func classify(httpStatus: Int, errorCodes: [String]) -> RetryFailureClass {
        if errorCodes.contains(where: throttlingCodes.contains) || throttlingStatuses.contains(httpStatus) {
            return .throttling
        }
        if errorCodes.contains(where: transientCodes.contains) || transientStatuses.contains(httpStatus) {
            return .transient
        }
        return .notRetryable
    }

    /// The class of a transport failure (no HTTP response).
    public static func classify(transport kind: HTTPError.Kind) -> RetryFailureClass {
        switch kind {
        case .connect, .io: .transient
        case .timeout: .timeout
        case .tooLarge, .cancelled, .local: .notRetryable
        }
    }
}
