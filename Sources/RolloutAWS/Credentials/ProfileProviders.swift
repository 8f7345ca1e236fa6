import AWSConfig
/// The providers that read one profile, in botocore's order (`ProfileProviderBuilder.providers`):
/// `web-identity`, `sso`, `shared-credentials-file`, `process`, `config-file`. The standard
/// chain runs them for the active profile; ``AssumeRoleCredentialProvider`` runs them for a
/// `source_profile`, without the web identity environment variables, as botocore does.
enum ProfileProviders {
    /// The five providers of `profileName`, with the hints listed when none yields credentials.
    static func entries(
        profileName: String,
        files: SharedCredentialFiles,
        settings: CredentialSettings,
        readsEnvironment: Bool
    ) -> [CredentialChain.Entry] {
        let environment = settings.environment
        let profile = files.merged.profiles[profileName]
        let credentialsPath = SharedConfigFile.credentialsFilePath(environment: environment)
        let configPath = SharedConfigFile.configFilePath(environment: environment)
        return [
            CredentialChain.Entry(
                provider: WebIdentityCredentialProvider(
                    environment: readsEnvironment ? environment : [:], profileName: profileName, profile: profile,
                    sts: settings.sts),
                hint: readsEnvironment
                    ? "web-identity (set AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, or web_identity_token_file and"
                        + " role_arn in profile \(profileName))"
                    : "web-identity (web_identity_token_file and role_arn in profile \(profileName))"),
            CredentialChain.Entry(
                provider: SSOCredentialProvider(profileName: profileName, files: files, settings: settings),
                hint: "sso (sso_session, or sso_start_url and sso_region, with sso_account_id and sso_role_name in profile"
                    + " \(profileName), then aws sso login)"),
            CredentialChain.Entry(
                provider: StaticProfileCredentialProvider(profileName: profileName, file: files.credentials, kind: .credentials),
                hint: "shared-credentials-file (aws_access_key_id and aws_secret_access_key in [\(profileName)] of \(credentialsPath))"),
            CredentialChain.Entry(
                provider: ProcessCredentialProvider(profileName: profileName, profile: profile, settings: settings),
                hint: "process (credential_process in profile \(profileName))"),
            CredentialChain.Entry(
                provider: StaticProfileCredentialProvider(profileName: profileName, file: files.config, kind: .config),
                hint: "config-file (aws_access_key_id and aws_secret_access_key in profile \(profileName) of \(configPath))"),
        ]
    }
}

/// The standard chain's providers, built from one reading of the shared files.
struct StandardChain: Sendable {
    var settings: CredentialSettings
    /// The profile was named in the daemon's configuration: `env` and the web identity
    /// variables are skipped, as botocore skips them for `Session(profile=...)`.
    var explicitProfile: Bool

    func entries(files: SharedCredentialFiles) -> [CredentialChain.Entry] {
        let environment = settings.environment
        let profileName = settings.activeProfile
        var entries: [CredentialChain.Entry] = []
        if !explicitProfile {
            entries.append(
                CredentialChain.Entry(
                    provider: EnvironmentCredentialProvider(environment: environment),
                    hint: "env (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"))
        }
        entries.append(
            CredentialChain.Entry(
                provider: AssumeRoleCredentialProvider(profileName: profileName, files: files, settings: settings),
                hint: "assume-role (role_arn with source_profile or credential_source in profile \(profileName))"))
        entries += ProfileProviders.entries(
            profileName: profileName, files: files, settings: settings, readsEnvironment: !explicitProfile)
        let imdsHint = settings.imdsSession.map { "imds (EC2 instance role via IMDSv2 at \($0.endpoint): no answer or no role)" }
            ?? "imds (disabled by AWS_EC2_METADATA_DISABLED)"
        entries.append(
            CredentialChain.Entry(
                provider: ContainerCredentialProvider(environment: environment, httpClient: settings.sts.httpClient),
                hint: "container (set AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or AWS_CONTAINER_CREDENTIALS_FULL_URI)"))
        entries.append(CredentialChain.Entry(provider: IMDSCredentialProvider(session: settings.imdsSession), hint: imdsHint))
        return entries
    }
}
