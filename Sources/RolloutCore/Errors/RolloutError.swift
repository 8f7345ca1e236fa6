/// The one error type that crosses module boundaries and reaches the wire.
///
/// It carries an open ``ErrorCode``, a human message (never a secret, credential or stack
/// trace) and extra `data` members such as `retryAfterMs`, `upstream` or `activeDeploymentId`.
public struct RolloutError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The wire code; `data.reason` and `data.kind` derive from it.
    public var code: ErrorCode
    /// A message for humans that names what was wrong.
    public var message: String
    /// Extra members merged into `error.data` next to `kind` and `reason`.
    public var data: JSONObject

    /// Creates an error.
    public init(_ code: ErrorCode, _ message: String, data: JSONObject = [:]) {
        self.code = code
        self.message = message
        self.data = data
    }

    /// The full `error.data` object: `{kind, reason, ...data}`.
    public var wireData: JSONObject {
        var object: JSONObject = ["kind": .string(code.kind.rawValue), "reason": .string(code.reason)]
        for (key, value) in data {
            object[key] = value
        }
        return object
    }

    /// `Reason: message`.
    public var description: String { "\(code.reason): \(message)" }
}

extension RolloutError {
    /// -32602 naming the offending param.
    public static func invalidParams(_ message: String) -> RolloutError {
        RolloutError(.invalidParams, message)
    }

    /// -32011 for a missing resource.
    public static func notFound(_ message: String) -> RolloutError {
        RolloutError(.notFound, message)
    }

    /// -32017 for a capability the active provider does not have.
    public static func unsupported(_ message: String) -> RolloutError {
        RolloutError(.unsupported, message)
    }

    /// -32603; the message must not leak internals.
    public static func internalError(_ message: String) -> RolloutError {
        RolloutError(.internalError, message)
    }

    /// -32003 when a deadline passed.
    public static func deadlineExceeded(_ message: String = "the request's deadline passed") -> RolloutError {
        RolloutError(.deadlineExceeded, message)
    }

    /// -32800 when the caller cancelled the request.
    public static let cancelled = RolloutError(.requestCancelled, "the request was cancelled")
}
