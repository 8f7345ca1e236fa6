public import AWSSigV4

/// One source of AWS credentials in the chain (SPEC §2.2).
public protocol CredentialProvider: Sendable {
    /// The source name reported by `sys.health`: `env`, `assume-role`, `web-identity`, `sso`,
    /// `shared-credentials-file`, `process`, `config-file`, `container`, `imds`, or another
    /// name in tests.
    var source: String { get }

    /// Credentials from this source; nil when the source is not configured here (so the
    /// chain moves on), a thrown `RolloutError` when it is configured but failed.
    func load() async throws -> AWSCredentials?
}
