public import AWSConfig
public import AWSSigV4
import RolloutCore
import RolloutSystem

/// Web identity credentials (EKS IRSA, SPEC §2.2 step 2): an OIDC token file and a role,
/// exchanged through STS `AssumeRoleWithWebIdentity` (unsigned).
///
/// Each setting comes from the environment first, then the active profile, as botocore reads
/// them: `AWS_WEB_IDENTITY_TOKEN_FILE` / `web_identity_token_file`, `AWS_ROLE_ARN` /
/// `role_arn`, `AWS_ROLE_SESSION_NAME` / `role_session_name` (default `rolloutd-<epoch>`).
/// The token file is read again on every ``load()`` (off the cooperative pool), since the
/// kubelet rotates it.
/// Not configured (nil) when no token file is named; a token file without a role ARN, or an
/// unreadable token file, is `ConfigInvalid`.
public struct WebIdentityCredentialProvider: CredentialProvider {
    /// `web-identity`.
    public var source: String { "web-identity" }

    /// The token file path, if web identity is configured.
    public let tokenFile: String?
    /// Where ``tokenFile`` came from (`env:AWS_WEB_IDENTITY_TOKEN_FILE` or `profile:<name>`).
    public let tokenFileSource: String?
    /// The role to assume.
    public let roleARN: String?
    /// The session name sent; nil means `rolloutd-<epoch>` at each call.
    public let sessionName: String?

    private let sts: STSClient
    private let readFile: @Sendable (String) -> [UInt8]?

    /// Reads the settings from `environment` and the active profile (`profile`, the merged
    /// config and credentials files' section, may be nil).
    public init(
        environment: [String: String],
        profileName: String,
        profile: SharedConfigSection?,
        sts: STSClient
    ) {
        self.init(environment: environment, profileName: profileName, profile: profile, sts: sts, readFile: RegularFile.contents(atPath:))
    }

    init(
        environment: [String: String],
        profileName: String,
        profile: SharedConfigSection?,
        sts: STSClient,
        readFile: @escaping @Sendable (String) -> [UInt8]?
    ) {
        func nonEmpty(_ value: String?) -> String? { value?.isEmpty == false ? value : nil }
        if let path = nonEmpty(environment["AWS_WEB_IDENTITY_TOKEN_FILE"]) {
            tokenFile = path
            tokenFileSource = "env:AWS_WEB_IDENTITY_TOKEN_FILE"
        } else if let path = nonEmpty(profile?.webIdentityTokenFile) {
            tokenFile = path
            tokenFileSource = "profile:\(profileName)"
        } else {
            tokenFile = nil
            tokenFileSource = nil
        }
        roleARN = nonEmpty(environment["AWS_ROLE_ARN"]) ?? nonEmpty(profile?.roleARN)
        sessionName = nonEmpty(environment["AWS_ROLE_SESSION_NAME"]) ?? nonEmpty(profile?.roleSessionName)
        self.sts = sts
        self.readFile = readFile
    }

    /// Reads the token file and calls `AssumeRoleWithWebIdentity`.
    public func load() async throws -> AWSCredentials? {
        guard let tokenFile, let tokenFileSource else { return nil }
        guard let roleARN else {
            throw RolloutError(
                .configInvalid,
                "web identity is configured (\(tokenFileSource) names a token file) but no role is:"
                    + " set AWS_ROLE_ARN or the profile's role_arn")
        }
        let readFile = self.readFile
        let contents = await CredentialIO.shared.run { _ in readFile(tokenFile) }
        guard let bytes = contents, let token = String(validating: bytes, as: UTF8.self), !token.isEmpty else {
            throw RolloutError(
                .configInvalid,
                "cannot read the web identity token file \(tokenFile) (from \(tokenFileSource)): missing, empty or unreadable")
        }
        return try await sts.assumeRoleWithWebIdentity(
            roleARN: roleARN, sessionName: sessionName ?? "rolloutd-\(CredentialsClock.epochSeconds())", webIdentityToken: token)
    }
}
