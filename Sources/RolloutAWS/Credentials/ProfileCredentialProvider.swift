public import AWSSigV4
import RolloutCore

/// Credentials from the shared config and credentials files for the active profile
/// (SPEC §2.2 step 3).
///
/// - A profile with `role_arn` assumes that role through STS `AssumeRole`, signed with the
///   credentials of its `source_profile` (source `assume-role`). A source profile's static
///   keys take precedence over its own `role_arn`; otherwise its role is assumed first, so
///   chains `a → b → c` work, and a loop is `ConfigInvalid`. A profile may name itself as
///   `source_profile` when it holds static keys. Instead of `source_profile`, a role profile
///   may use `credential_source` (`Environment`, `Ec2InstanceMetadata`, `EcsContainer`) or,
///   as a source profile, `web_identity_token_file`. `role_session_name` (default
///   `rolloutd-<epoch>`), `external_id` and `duration_seconds` are honoured; `mfa_serial` is
///   refused (a daemon cannot prompt).
/// - Otherwise the profile's static keys (`aws_access_key_id`, `aws_secret_access_key`,
///   `aws_session_token`), from the credentials file, else the config file (source
///   `profile`).
///
/// As in botocore, a profile with `role_arn` is assumed even when it also holds static keys,
/// and a profile with `role_arn` and `web_identity_token_file` is left to
/// ``WebIdentityCredentialProvider`` (this provider returns nil for it).
public struct ProfileCredentialProvider: CredentialProvider {
    /// `assume-role` when the active profile has `role_arn`, else `profile`.
    public let source: String
    /// The active profile.
    public let profileName: String

    private let configFile: SharedConfigFile
    private let credentialsFile: SharedConfigFile
    private let merged: SharedConfigFile
    private let environment: [String: String]
    private let sts: STSClient
    private let imdsSession: IMDSSession?

    /// A provider for `profileName`, from the config file and the credentials file read
    /// separately (``SharedConfigFile/read(_:environment:)``). `environment` and
    /// `imdsSession` serve `credential_source`; STS calls go through `sts`.
    public init(
        profileName: String,
        configFile: SharedConfigFile,
        credentialsFile: SharedConfigFile,
        environment: [String: String] = [:],
        sts: STSClient,
        imdsSession: IMDSSession? = nil
    ) {
        self.profileName = profileName
        self.configFile = configFile
        self.credentialsFile = credentialsFile
        self.merged = configFile.merging(credentials: credentialsFile)
        self.environment = environment
        self.sts = sts
        self.imdsSession = imdsSession
        let profile = merged.profiles[profileName]
        self.source = profile?.roleARN?.isEmpty == false ? "assume-role" : "profile"
    }

    /// The profile's credentials; nil when it has neither `role_arn` nor static keys.
    public func load() async throws -> AWSCredentials? {
        guard let profile = merged.profiles[profileName] else {
            if profileName == "default" { return nil }
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(profileName) is in neither the shared config file nor the credentials file")
        }
        if Self.nonEmpty(profile.roleARN) != nil {
            if Self.nonEmpty(profile.webIdentityTokenFile) != nil { return nil }
            return try await assumeRole(profileName, visited: [])
        }
        return try staticCredentials(profileName)
    }

    // MARK: Internals

    private static func nonEmpty(_ value: String?) -> String? {
        value?.isEmpty == false ? value : nil
    }

    /// The static keys of `name`: the credentials file's when it has an access key id there,
    /// else the config file's; nil when neither has one.
    private func staticCredentials(_ name: String) throws -> AWSCredentials? {
        for (file, label) in [(credentialsFile, "shared credentials file"), (configFile, "shared config file")] {
            guard let section = file.profiles[name] else { continue }
            let accessKeyID = Self.nonEmpty(section.accessKeyID)
            let secret = Self.nonEmpty(section.secretAccessKey)
            switch (accessKeyID, secret) {
            case (let accessKeyID?, let secret?):
                return AWSCredentials(
                    accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: Self.nonEmpty(section.sessionToken))
            case (.some, nil):
                throw RolloutError(
                    .configInvalid,
                    "the AWS profile \(name) in the \(label) has aws_access_key_id but no aws_secret_access_key")
            case (nil, .some):
                throw RolloutError(
                    .configInvalid,
                    "the AWS profile \(name) in the \(label) has aws_secret_access_key but no aws_access_key_id")
            case (nil, nil):
                continue
            }
        }
        return nil
    }

    /// Assumes the role of profile `name`, whose section has `role_arn`.
    private func assumeRole(_ name: String, visited: [String]) async throws -> AWSCredentials {
        let section = merged.profiles[name] ?? SharedConfigSection()
        guard let roleARN = Self.nonEmpty(section.roleARN) else {
            throw RolloutError(.configInvalid, "the AWS profile \(name) has no role_arn")
        }
        if Self.nonEmpty(section.string("mfa_serial")) != nil {
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(name) sets mfa_serial: rolloutd cannot prompt for an MFA code;"
                    + " use a profile without MFA or credentials from another source")
        }
        let chain = visited + [name]
        let sourceCredentials: AWSCredentials
        if let sourceName = Self.nonEmpty(section.sourceProfile) {
            if sourceName == name {
                guard let own = try staticCredentials(name) else {
                    throw RolloutError(
                        .configInvalid,
                        "the AWS profile \(name) is its own source_profile but has no static keys")
                }
                sourceCredentials = own
            } else if chain.contains(sourceName) {
                throw RolloutError(
                    .configInvalid,
                    "the AWS profiles' source_profile settings form a loop: "
                        + (chain + [sourceName]).joined(separator: " -> "))
            } else {
                guard merged.profiles[sourceName] != nil else {
                    throw RolloutError(
                        .configInvalid,
                        "the AWS profile \(name) has source_profile = \(sourceName), which is in neither the shared"
                            + " config file nor the credentials file")
                }
                sourceCredentials = try await credentials(ofSourceProfile: sourceName, visited: chain)
            }
        } else if let credentialSource = Self.nonEmpty(section.string("credential_source")) {
            sourceCredentials = try await credentials(fromCredentialSource: credentialSource, profile: name)
        } else if Self.nonEmpty(section.webIdentityTokenFile) != nil {
            return try await webIdentity(name, section)
        } else {
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(name) has role_arn but no source_profile, credential_source or"
                    + " web_identity_token_file to assume it with")
        }
        let duration = Self.nonEmpty(section.string("duration_seconds"))
        var durationSeconds: Int?
        if let duration {
            guard let seconds = Int(duration), seconds > 0 else {
                throw RolloutError(.configInvalid, "the AWS profile \(name) has a duration_seconds that is not a positive integer")
            }
            durationSeconds = seconds
        }
        return try await sts.assumeRole(
            roleARN: roleARN,
            sessionName: Self.nonEmpty(section.roleSessionName) ?? "rolloutd-\(CredentialsClock.epochSeconds())",
            externalID: Self.nonEmpty(section.string("external_id")),
            durationSeconds: durationSeconds,
            credentials: sourceCredentials)
    }

    /// The credentials a source profile provides: its static keys, else its own role.
    private func credentials(ofSourceProfile name: String, visited: [String]) async throws -> AWSCredentials {
        if let own = try staticCredentials(name) { return own }
        let section = merged.profiles[name] ?? SharedConfigSection()
        if Self.nonEmpty(section.roleARN) != nil {
            return try await assumeRole(name, visited: visited)
        }
        throw RolloutError(
            .configInvalid,
            "the AWS source profile \(name) has neither static keys nor a role_arn")
    }

    private func webIdentity(_ name: String, _ section: SharedConfigSection) async throws -> AWSCredentials {
        let provider = WebIdentityCredentialProvider(environment: [:], profileName: name, profile: section, sts: sts)
        guard let credentials = try await provider.load() else {
            throw RolloutError(.configInvalid, "the AWS profile \(name) has no web_identity_token_file")
        }
        return credentials
    }

    /// botocore's `credential_source`.
    private func credentials(fromCredentialSource credentialSource: String, profile name: String) async throws
        -> AWSCredentials
    {
        let provider: any CredentialProvider
        switch credentialSource {
        case "Environment":
            provider = EnvironmentCredentialProvider(environment: environment)
        case "Ec2InstanceMetadata":
            provider = IMDSCredentialProvider(session: imdsSession ?? IMDSSession(environment: environment, httpClient: sts.httpClient))
        case "EcsContainer":
            provider = ContainerCredentialProvider(environment: environment, httpClient: sts.httpClient)
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
