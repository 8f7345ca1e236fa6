public import AWSSigV4

/// Where ``AWSClient`` gets the credentials it signs each attempt with.
///
/// The daemon adapts the credential chain (SPEC §2.2), which caches and refreshes on its own;
/// ``AWSClient`` asks again before every attempt, so a refresh between retries is picked up.
public protocol CredentialSource: Sendable {
    /// Current credentials. A thrown `RolloutError` reaches the caller unchanged; any other
    /// error becomes `Unavailable`.
    func credentials() async throws -> AWSCredentials
}

/// Fixed credentials, for tests and emulators.
public struct StaticCredentials: CredentialSource, CustomStringConvertible {
    private let value: AWSCredentials

    /// Serves `credentials`.
    public init(_ credentials: AWSCredentials) {
        self.value = credentials
    }

    /// Serves an access key pair (and session token).
    public init(accessKeyId: String, secretAccessKey: String, sessionToken: String? = nil) {
        self.value = AWSCredentials(accessKeyId: accessKeyId, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
    }

    /// The fixed credentials.
    public func credentials() async throws -> AWSCredentials {
        value
    }

    /// The access key id only.
    public var description: String {
        "StaticCredentials(\(value.accessKeyId))"
    }
}
