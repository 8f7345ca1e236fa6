public import AWSSigV4

/// One source of AWS credentials in the chain (SPEC §2.2).
public protocol CredentialProvider: Sendable {
    /// The source name reported by `sys.health`: `env`, `web-identity`, `profile`,
    /// `assume-role`, `container`, `imds`, or `static` in tests.
    var source: String { get }

    /// Credentials from this source; nil when the source is not configured here (so the
    /// chain moves on), a thrown `RolloutError` when it is configured but failed.
    func load() async throws -> AWSCredentials?
}
