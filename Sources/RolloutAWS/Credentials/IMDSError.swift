/// Why an ``IMDSSession`` request got no HTTP answer worth returning. Messages never
/// contain the session token.
public struct IMDSError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong.
    public enum Kind: Sendable, Hashable {
        /// The token request (`PUT /latest/api/token`) got no answer: no connection within the
        /// connect timeout, or no response in time. On anything but EC2 this means "no IMDS".
        case unreachable
        /// The token request was answered with a status other than 200 (``IMDSError/status``):
        /// 403 when IMDS is disabled for the instance, 404/405 when there is no IMDSv2, 400
        /// for a bad TTL. The session never falls back to token-less (IMDSv1) requests.
        case tokenRefused
        /// A metadata `GET` failed in transport after a token was obtained.
        case requestFailed
        /// The calling task was cancelled.
        case cancelled
    }

    /// What went wrong.
    public var kind: Kind
    /// The HTTP status, for ``Kind/tokenRefused``.
    public var status: Int?
    /// What happened, for logs.
    public var message: String

    /// An error.
    public init(_ kind: Kind, status: Int? = nil, _ message: String) {
        self.kind = kind
        self.status = status
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
