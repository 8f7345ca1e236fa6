public import AWSConfig
public import AWSSigV4
import RolloutCore

/// A role assumed through STS `AssumeRole` (SPEC §2.2 step 2, source `assume-role`): the
/// active profile has `role_arn` (and no `web_identity_token_file`, which
/// ``WebIdentityCredentialProvider`` serves), with either
///
/// - `credential_source`: `Environment`, `Ec2InstanceMetadata` or `EcsContainer`; or
/// - `source_profile`: a profile whose credentials sign the call. As in botocore's
///   `AssumeRoleProvider`, a source profile with static keys — or without a role of its own —
///   is read with the profile providers (``ProfileProviders``: web identity from the profile,
///   SSO, the credentials file, `credential_process`, the config file), so an SSO or
///   `credential_process` profile can be a source; otherwise its own role is assumed first,
///   so chains `a → b → c` work. A loop is `ConfigInvalid`; a profile may name itself as
///   `source_profile` when it holds static keys.
///
/// `role_session_name` (default `rolloutd-<epoch>`), `external_id` and `duration_seconds` are
/// honoured; `mfa_serial` is refused (a daemon cannot prompt). Setting both `source_profile`
/// and `credential_source`, or neither, is `ConfigInvalid`. A named profile that exists in
/// neither file is `ConfigInvalid` (botocore's `ProfileNotFound`); an absent `default` is not
/// configured (nil).
public struct AssumeRoleCredentialProvider: CredentialProvider {
    /// `assume-role`.
    public var source: String { "assume-role" }
    /// The active profile.
    public let profileName: String

    private let files: SharedCredentialFiles
    private let settings: CredentialSettings

    /// A provider for `profileName`, from the config file and the credentials file read
    /// separately (``SharedConfigFile/read(_:environment:)``). `environment` and
    /// `imdsSession` serve `credential_source` and source profiles; STS calls go through `sts`.
    public init(
        profileName: String,
        configFile: SharedConfigFile,
        credentialsFile: SharedConfigFile,
        environment: [String: String] = [:],
        sts: STSClient,
        imdsSession: IMDSSession? = nil
    ) {
        self.init(
            profileName: profileName, files: SharedCredentialFiles(config: configFile, credentials: credentialsFile),
            settings: CredentialSettings(
                environment: environment, activeProfile: profileName, sts: sts, imdsSession: imdsSession,
                processTimeout: .seconds(60), now: CredentialsClock.now))
    }

    init(profileName: String, files: SharedCredentialFiles, settings: CredentialSettings) {
        self.profileName = profileName
        self.files = files
        self.settings = settings
    }

    /// The role's credentials; nil when the profile has no `role_arn` (or uses web identity).
    public func load() async throws -> AWSCredentials? {
        guard let profile = files.merged.profiles[profileName] else {
            if profileName == "default" { return nil }
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(profileName) is in neither the shared config file nor the credentials file")
        }
        guard Self.assumesRole(profile) else { return nil }
        return try await assumeRole(profileName, visited: [profileName])
    }

    // MARK: Internals

    private static func nonEmpty(_ value: String?) -> String? {
        value?.isEmpty == false ? value : nil
    }

    /// botocore's `_has_assume_role_config_vars`: `role_arn` without `web_identity_token_file`.
    private static func assumesRole(_ section: SharedConfigSection) -> Bool {
        nonEmpty(section.roleARN) != nil && nonEmpty(section.webIdentityTokenFile) == nil
    }

    /// Assumes the role of profile `name`; `visited` holds the profiles whose credentials are
    /// being resolved, `name` last.
    private func assumeRole(_ name: String, visited: [String]) async throws -> AWSCredentials {
        let section = files.merged.profiles[name] ?? SharedConfigSection()
        guard let roleARN = Self.nonEmpty(section.roleARN) else {
            throw RolloutError(.configInvalid, "the AWS profile \(name) has no role_arn")
        }
        if Self.nonEmpty(section.string("mfa_serial")) != nil {
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(name) sets mfa_serial: rolloutd cannot prompt for an MFA code;"
                    + " use a profile without MFA or credentials from another source")
        }
        let sourceProfile = Self.nonEmpty(section.sourceProfile)
        let credentialSource = Self.nonEmpty(section.string("credential_source"))
        let sourceCredentials: AWSCredentials
        switch (sourceProfile, credentialSource) {
        case (.some, .some):
            throw RolloutError(.configInvalid, "the AWS profile \(name) has both source_profile and credential_source")
        case (nil, nil):
            throw RolloutError(
                .configInvalid, "the AWS profile \(name) has role_arn but no source_profile or credential_source to assume it with")
        case (nil, let credentialSource?):
            sourceCredentials = try await credentials(fromCredentialSource: credentialSource, profile: name)
        case (let sourceName?, nil):
            guard let sourceSection = files.merged.profiles[sourceName] else {
                throw RolloutError(
                    .configInvalid,
                    "the AWS profile \(name) has source_profile = \(sourceName), which is in neither the shared"
                        + " config file nor the credentials file")
            }
            if sourceName == name {
                guard StaticProfileCredentialProvider.hasStaticKeys(section) else {
                    throw RolloutError(.configInvalid, "the AWS profile \(name) is its own source_profile but has no static keys")
                }
            } else if visited.contains(sourceName) {
                throw RolloutError(
                    .configInvalid,
                    "the AWS profiles' source_profile settings form a loop: " + (visited + [sourceName]).joined(separator: " -> "))
            }
            sourceCredentials = try await credentials(ofSourceProfile: sourceName, sourceSection, visited: visited + [sourceName])
        }
        var durationSeconds: Int?
        if let duration = Self.nonEmpty(section.string("duration_seconds")) {
            guard let seconds = Int(duration), seconds > 0 else {
                throw RolloutError(.configInvalid, "the AWS profile \(name) has a duration_seconds that is not a positive integer")
            }
            durationSeconds = seconds
        }
        return try await settings.sts.assumeRole(
            roleARN: roleARN,
            sessionName: Self.nonEmpty(section.roleSessionName) ?? "rolloutd-\(CredentialsClock.epochSeconds())",
            externalID: Self.nonEmpty(section.string("external_id")),
            durationSeconds: durationSeconds,
            credentials: sourceCredentials)
    }

    /// botocore's `_resolve_credentials_from_profile`: a profile with static keys, or without
    /// a role to assume, through the profile providers; else its own role.
    private func credentials(ofSourceProfile name: String, _ section: SharedConfigSection, visited: [String]) async throws
        -> AWSCredentials
    {
        guard StaticProfileCredentialProvider.hasStaticKeys(section) || !Self.assumesRole(section) else {
            return try await assumeRole(name, visited: visited)
        }
        for entry in ProfileProviders.entries(profileName: name, files: files, settings: settings, readsEnvironment: false) {
            if let credentials = try await entry.provider.load() { return credentials }
        }
        throw RolloutError(
            .configInvalid,
            "the AWS source profile \(name) has no credentials: no static keys, role_arn, credential_process, SSO or"
                + " web identity settings")
    }

    /// botocore's `credential_source`.
    private func credentials(fromCredentialSource credentialSource: String, profile name: String) async throws -> AWSCredentials {
        let provider: any CredentialProvider
        let environment = settings.environment
        let httpClient = settings.sts.httpClient
        switch credentialSource {
        case "Environment":
            provider = EnvironmentCredentialProvider(environment: environment)
        case "Ec2InstanceMetadata":
            provider = IMDSCredentialProvider(session: settings.imdsSession ?? IMDSSession(environment: environment, httpClient: httpClient))
        case "EcsContainer":
            provider = ContainerCredentialProvider(environment: environment, httpClient: httpClient)
        default:
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(name) has credential_source = \(credentialSource); supported values are"
                    + " Environment, Ec2InstanceMetadata and EcsContainer")
        }
        guard let credentials = try await provider.load() else {
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(name) has credential_source = \(credentialSource), which provided no credentials")
        }
        return credentials
    }
}
