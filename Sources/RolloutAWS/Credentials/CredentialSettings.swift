import RolloutSystem

/// What the providers that read the shared files need besides the files: the environment, the
/// active profile, the STS client, the IMDS session, the `credential_process` time limit and
/// the clock. One value per chain, handed to every provider it builds.
struct CredentialSettings: Sendable {
    /// The process environment (`AWS_*`, `HOME`); also the environment of `credential_process`.
    var environment: [String: String]
    /// The profile the daemon runs as: the one `aws sso login --profile` hints name and whose
    /// settings choose the IAM Identity Center endpoints, even while a source profile is read.
    var activeProfile: String
    /// STS, and through it the HTTP client every provider uses.
    var sts: STSClient
    /// For `credential_source = Ec2InstanceMetadata`; nil when IMDS is disabled.
    var imdsSession: IMDSSession?
    /// How long a `credential_process` may run before it is killed.
    var processTimeout: Duration
    /// Seconds since the epoch: token expiry is judged by it.
    var now: @Sendable () -> Double
}

/// Where the credential providers run blocking work (token and cache files, the shared files,
/// `credential_process`), off the cooperative pool.
enum CredentialIO {
    /// One executor for the whole chain; every job gets its own dispatch queue.
    static let shared = BlockingIO(label: "rolloutd.credentials")
}
