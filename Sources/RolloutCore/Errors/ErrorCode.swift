/// A JSON-RPC error code: the standard protocol codes and rolloutd's domain codes (SPEC §3.1).
///
/// An open struct rather than an enum, so new codes never break exhaustive switches in clients.
public struct ErrorCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    /// The integer sent on the wire as `error.code`.
    public let rawValue: Int

    /// Creates a code from its wire value.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    // MARK: JSON-RPC 2.0 protocol errors

    /// Invalid JSON was received.
    public static let parseError = ErrorCode(rawValue: -32700)
    /// The JSON sent is not a valid request object (also: a line over `max_request_bytes`).
    public static let invalidRequest = ErrorCode(rawValue: -32600)
    /// The method does not exist.
    public static let methodNotFound = ErrorCode(rawValue: -32601)
    /// Invalid method parameters; the message names the field and what was expected.
    public static let invalidParams = ErrorCode(rawValue: -32602)
    /// An internal error (never carries a stack trace).
    public static let internalError = ErrorCode(rawValue: -32603)
    /// The request was cancelled by `$/cancelRequest` or by closing the connection.
    public static let requestCancelled = ErrorCode(rawValue: -32800)

    // MARK: Domain errors (SPEC §3.1)

    /// AWS throttled us after retries; `data.retryAfterMs` is a backoff hint.
    public static let throttled = ErrorCode(rawValue: -32001)
    /// Network errors, timeouts, 5xx after retries.
    public static let unavailable = ErrorCode(rawValue: -32002)
    /// `timeoutMs` or a wait limit expired.
    public static let deadlineExceeded = ErrorCode(rawValue: -32003)
    /// The same idempotency key is still executing elsewhere and did not finish in time.
    public static let inProgress = ErrorCode(rawValue: -32004)
    /// Misconfiguration, e.g. a secret that is not in the allowlist.
    public static let configInvalid = ErrorCode(rawValue: -32010)
    /// The object, secret, message, deployment or function does not exist.
    public static let notFound = ErrorCode(rawValue: -32011)
    /// AWS denied the call, or a `path` is outside `file_roots`.
    public static let accessDenied = ErrorCode(rawValue: -32012)
    /// `ifMatch`/`ifNoneMatch` failed; rollout preflight failed.
    public static let preconditionFailed = ErrorCode(rawValue: -32013)
    /// Idempotency key reused with different params; an active rollout under `onConflict = "fail"`.
    public static let conflict = ErrorCode(rawValue: -32014)
    /// `secret.put`: the SecretStore is read-only.
    public static let readOnly = ErrorCode(rawValue: -32015)
    /// Object, inline data or message larger than allowed.
    public static let tooLarge = ErrorCode(rawValue: -32016)
    /// The capability does not exist for this provider.
    public static let unsupported = ErrorCode(rawValue: -32017)

    private static let names: [Int: (reason: String, kind: ErrorKind)] = [
        -32700: ("ParseError", .fatal),
        -32600: ("InvalidRequest", .fatal),
        -32601: ("MethodNotFound", .fatal),
        -32602: ("InvalidParams", .fatal),
        -32603: ("InternalError", .recoverable),
        -32800: ("RequestCancelled", .recoverable),
        -32001: ("Throttled", .recoverable),
        -32002: ("Unavailable", .recoverable),
        -32003: ("DeadlineExceeded", .recoverable),
        -32004: ("InProgress", .recoverable),
        -32010: ("ConfigInvalid", .fatal),
        -32011: ("NotFound", .fatal),
        -32012: ("AccessDenied", .fatal),
        -32013: ("PreconditionFailed", .fatal),
        -32014: ("Conflict", .fatal),
        -32015: ("ReadOnly", .fatal),
        -32016: ("TooLarge", .fatal),
        -32017: ("Unsupported", .fatal),
    ]

    /// The reason name sent as `data.reason` (`"NotFound"`, `"Throttled"`, ...).
    public var reason: String {
        Self.names[rawValue]?.reason ?? "Error\(rawValue)"
    }

    /// Whether retrying later may succeed (`data.kind`).
    public var kind: ErrorKind {
        Self.names[rawValue]?.kind ?? .fatal
    }

    /// Looks a code up by its reason name (the inverse of ``reason``).
    public init?(reason: String) {
        guard let entry = Self.names.first(where: { $0.value.reason == reason }) else { return nil }
        self.init(rawValue: entry.key)
    }

    /// `Reason(code)`, for logs.
    public var description: String { "\(reason)(\(rawValue))" }
}

/// `data.kind` of an error: whether a retry can succeed without a change elsewhere.
public enum ErrorKind: String, Sendable, Hashable, Codable {
    /// Retrying later may succeed.
    case recoverable
    /// It will not succeed until something changes.
    case fatal
}
