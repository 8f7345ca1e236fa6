public import AWSConfig
public import AWSSigV4
public import CurlHTTP
import RolloutCore

/// IAM Identity Center (SSO) role credentials (SPEC §2.2 step 4, source `sso`), as botocore's
/// `SSOProvider` and `SSOTokenProvider` get them.
///
/// A profile with `sso_account_id` or `sso_role_name` uses it, with either
/// `sso_session = NAME` and a `[sso-session NAME]` section holding `sso_start_url` and
/// `sso_region` (a key set in both must agree), or the legacy `sso_start_url` and `sso_region`
/// in the profile itself; a missing setting is `ConfigInvalid` naming it.
///
/// The access token comes from the cache `aws sso login` writes (``SSOTokenCache``: the SHA-1
/// of the session name, or of the start URL). For a session, a token with less than 15 minutes
/// left is refreshed through SSO OIDC `CreateToken` when the cache holds a refresh token and a
/// client registration that has not expired, and the new token is written back to the cache;
/// a legacy token is never refreshed. The token is exchanged for role credentials through the
/// portal's `GetRoleCredentials`. The portal and OIDC endpoints are resolved like every other
/// service's (service ids `SSO` and `SSO OIDC`: `AWS_ENDPOINT_URL_SSO`, ...) for the
/// `sso_region`.
///
/// No cached token, an expired one that cannot be refreshed, or a token the portal rejects is
/// an error telling to run `aws sso login --profile <active profile>`. Tokens and the client
/// secret never appear in errors.
public struct SSOCredentialProvider: CredentialProvider {
    /// `sso`.
    public var source: String { "sso" }
    /// The profile read.
    public let profileName: String

    /// A token with less time left than this (15 minutes) is refreshed, as botocore does.
    static let tokenRefreshWindow: Double = 15 * 60

    private let files: SharedCredentialFiles
    private let settings: CredentialSettings
    private let client: SSOClient

    /// The SSO settings of `profileName` in the shared files (the config file holds the
    /// `[sso-session]` sections); the token cache under `environment`'s `HOME`; endpoint
    /// overrides from `environment` and the profile; token expiry judged by `now`.
    public init(
        profileName: String,
        configFile: SharedConfigFile,
        credentialsFile: SharedConfigFile,
        environment: [String: String],
        httpClient: any HTTPClient,
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        self.init(
            profileName: profileName, files: SharedCredentialFiles(config: configFile, credentials: credentialsFile),
            settings: CredentialSettings(
                environment: environment, activeProfile: profileName,
                sts: STSClient(endpoint: STSEndpoint(url: "https://sts.amazonaws.com", region: "us-east-1"), httpClient: httpClient),
                imdsSession: nil, processTimeout: .seconds(60), now: now))
    }

    init(profileName: String, files: SharedCredentialFiles, settings: CredentialSettings) {
        self.profileName = profileName
        self.files = files
        self.settings = settings
        self.client = SSOClient(httpClient: settings.sts.httpClient)
    }

    /// The role's credentials; nil when the profile has no SSO settings.
    public func load() async throws -> AWSCredentials? {
        guard let configuration = try SSOConfiguration(profileName: profileName, in: files.merged) else { return nil }
        let accessToken = try await accessToken(configuration)
        let portal = try endpoint(serviceID: "SSO", prefix: "portal.sso", region: configuration.region)
        do throws(RolloutError) {
            return try await client.getRoleCredentials(
                endpoint: portal, roleName: configuration.roleName, accountID: configuration.accountID, accessToken: accessToken)
        } catch {
            guard error.code == .accessDenied, error.data["upstream"]?["httpStatus"] == 401 else { throw error }
            throw RolloutError(
                .accessDenied,
                "the IAM Identity Center session of AWS profile \(profileName) has expired or is otherwise invalid"
                    + " (\(error.message)); \(loginHint)",
                data: error.data)
        }
    }

    // MARK: Internals

    private var loginHint: String {
        "run `aws sso login --profile \(settings.activeProfile)`"
    }

    /// A valid access token for `configuration`, refreshed and cached again when it is close
    /// to expiry and the cache allows it.
    private func accessToken(_ configuration: SSOConfiguration) async throws -> String {
        let cache = await SSOTokenCache.forUser(environment: settings.environment)
        let key = configuration.sessionName ?? configuration.startURL
        let described = configuration.sessionName.map { "sso-session \($0)" } ?? "start URL \(configuration.startURL)"
        guard let token = await cache.load(key) else {
            throw RolloutError(
                .configInvalid,
                "no IAM Identity Center token is cached for \(described) (\(cache.path(for: key))); \(loginHint)")
        }
        guard let accessToken = token["accessToken"]?.stringValue, !accessToken.isEmpty,
              let expiresAt = token["expiresAt"]?.stringValue.flatMap(Self.parseTime)
        else {
            throw RolloutError(
                .configInvalid,
                "the IAM Identity Center token cached for \(described) (\(cache.path(for: key))) has no accessToken or"
                    + " expiresAt; \(loginHint)")
        }
        let now = settings.now()
        guard let sessionName = configuration.sessionName else {
            guard expiresAt > now else {
                throw RolloutError(
                    .accessDenied,
                    "the IAM Identity Center token cached for \(described) expired at \(RFC3339.format(seconds: expiresAt))"
                        + " (a legacy sso_start_url profile's token is not refreshed); \(loginHint)")
            }
            return accessToken
        }
        guard expiresAt - now < Self.tokenRefreshWindow else { return accessToken }
        let refreshFailure: RolloutError
        do throws(RolloutError) {
            return try await refresh(token, configuration: configuration, sessionName: sessionName, cache: cache, now: now)
        } catch {
            refreshFailure = error
        }
        // As botocore: a failed refresh keeps the old token while it lasts.
        if expiresAt > now { return accessToken }
        throw RolloutError(
            refreshFailure.code == .unavailable || refreshFailure.code == .throttled ? refreshFailure.code : .accessDenied,
            "the IAM Identity Center token cached for \(described) expired at \(RFC3339.format(seconds: expiresAt)) and"
                + " could not be refreshed: \(refreshFailure.message); \(loginHint)",
            data: refreshFailure.data)
    }

    /// SSO OIDC `CreateToken` with the cached refresh token and client registration; the new
    /// token is written back to the cache.
    private func refresh(
        _ token: JSONObject, configuration: SSOConfiguration, sessionName: String, cache: SSOTokenCache, now: Double
    ) async throws(RolloutError) -> String {
        guard let refreshToken = token["refreshToken"]?.stringValue, !refreshToken.isEmpty,
              let clientID = token["clientId"]?.stringValue, !clientID.isEmpty,
              let clientSecret = token["clientSecret"]?.stringValue, !clientSecret.isEmpty,
              let registrationText = token["registrationExpiresAt"]?.stringValue
        else {
            throw RolloutError(.configInvalid, "the cache holds no refresh token and client registration")
        }
        guard let registrationExpiresAt = Self.parseTime(registrationText), registrationExpiresAt > now else {
            throw RolloutError(.configInvalid, "the client registration in the cache has expired")
        }
        let oidc = try endpoint(serviceID: "SSO OIDC", prefix: "oidc", region: configuration.region)
        let fresh = try await client.createToken(
            endpoint: oidc, clientID: clientID, clientSecret: clientSecret, refreshToken: refreshToken)
        var updated = token
        updated["startUrl"] = .string(configuration.startURL)
        updated["region"] = .string(configuration.region)
        updated["accessToken"] = .string(fresh.accessToken)
        updated["expiresAt"] = .string(Self.formatTime(settings.now() + fresh.expiresIn))
        if let newRefreshToken = fresh.refreshToken { updated["refreshToken"] = .string(newRefreshToken) }
        // A cache that cannot be written loses a rotated refresh token: the next refresh then
        // fails with a clear "run aws sso login", while this token is good now.
        try? await cache.save(updated, for: sessionName)
        return fresh.accessToken
    }

    private func endpoint(serviceID: String, prefix: String, region: String) throws(RolloutError) -> String {
        do {
            return try EndpointResolver.credentialServiceEndpoint(
                serviceID: serviceID, endpointPrefix: prefix, region: region, environment: settings.environment,
                sharedConfig: files.merged, profileName: settings.activeProfile
            ).url
        } catch {
            throw RolloutError(.configInvalid, error.message)
        }
    }

    /// An `expiresAt` as the AWS CLI writes it: RFC 3339 (`2026-01-01T00:00:00Z`), or with a
    /// `UTC` suffix (older CLIs).
    static func parseTime(_ text: String) -> Double? {
        if text.hasSuffix("UTC") { return RFC3339.parse(String(text.dropLast(3)) + "Z") }
        return RFC3339.parse(text)
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, as botocore writes `expiresAt`.
    static func formatTime(_ seconds: Double) -> String {
        String(RFC3339.format(milliseconds: Int64(seconds.rounded(.down)) * 1000).dropLast(5)) + "Z"
    }
}

/// A profile's IAM Identity Center settings, resolved as botocore's `SSOProvider._load_sso_config`.
struct SSOConfiguration: Sendable, Hashable {
    /// The `sso_session` name; nil for a legacy profile.
    var sessionName: String?
    var startURL: String
    var region: String
    var accountID: String
    var roleName: String

    /// The settings of `profileName`; nil when it has neither `sso_account_id` nor
    /// `sso_role_name`.
    init?(profileName: String, in file: SharedConfigFile) throws(RolloutError) {
        guard let profile = file.profiles[profileName],
              profile["sso_account_id"] != nil || profile["sso_role_name"] != nil
        else { return nil }
        var values = profile
        var required = ["sso_role_name", "sso_account_id", "sso_start_url", "sso_region"]
        if let sessionName = profile.string("sso_session") {
            guard let session = file.ssoSessions[sessionName] else {
                throw RolloutError(
                    .configInvalid,
                    "the AWS profile \(profileName) names sso_session = \(sessionName), but there is no [sso-session"
                        + " \(sessionName)] section in the shared config file")
            }
            for (key, value) in session.values.sorted(by: { $0.key < $1.key }) {
                if let own = profile[key], own != value {
                    throw RolloutError(
                        .configInvalid,
                        "the AWS profile \(profileName) and its [sso-session \(sessionName)] set different values for \(key)")
                }
                values.values[key] = value
            }
            required.append("sso_session")
        }
        let missing = required.filter { values.string($0)?.isEmpty != false }
        guard missing.isEmpty else {
            throw RolloutError(
                .configInvalid,
                "the AWS profile \(profileName) is configured for IAM Identity Center (SSO) but lacks "
                    + missing.joined(separator: ", "))
        }
        let region = values.string("sso_region") ?? ""
        guard HostValidation.isValidRegion(region) else {
            throw RolloutError(.configInvalid, "the sso_region of AWS profile \(profileName) is not a valid region name")
        }
        sessionName = values.string("sso_session")
        startURL = values.string("sso_start_url") ?? ""
        self.region = region
        accountID = values.string("sso_account_id") ?? ""
        roleName = values.string("sso_role_name") ?? ""
    }
}
