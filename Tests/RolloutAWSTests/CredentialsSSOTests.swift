import AWSConfig
import AWSSigV4
import CurlHTTP
import Glibc
import RolloutCore
import Testing
@testable import RolloutAWS

/// IAM Identity Center (SSO) credentials against the fake portal and SSO OIDC service of
/// tests/fixtures/credentials_fake_server.py (moto has neither).
@Suite("Credentials: IAM Identity Center (SSO)", .serialized)
struct CredentialsSSOTests {
    let server: CredentialsFakeServer

    init() async throws {
        server = try await CredentialsFakeServer()
    }

    /// `sha1("corp")` and `sha1("https://legacy.awsapps.com/start")`, as `aws sso login` names the files.
    static let sessionCacheFile = "ee0bfd2552fbd840c02cc48b6e823320543c450f.json"
    static let legacyCacheFile = "79e435d7a515078e81c9dffc35f38d5687ebd3a7.json"

    static let config = """
        [profile dev]
        sso_session = corp
        sso_account_id = 111122223333
        sso_role_name = Deploy
        region = us-east-1
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        sso_registration_scopes = sso:account:access
        [profile legacy]
        sso_start_url = https://legacy.awsapps.com/start
        sso_region = eu-west-1
        sso_account_id = 444455556666
        sso_role_name = ReadOnly
        [profile app]
        role_arn = arn:aws:iam::111122223333:role/app
        source_profile = dev
        """

    /// A HOME with the config above and a token cache, and the environment pointing the SSO
    /// and SSO OIDC endpoints at the fake.
    struct Home {
        let directory = CredentialsTempDirectory()
        let environment: [String: String]
        var cache: String { directory.path + "/.aws/sso/cache" }

        init(server: CredentialsFakeServer, config: String = CredentialsSSOTests.config, extra: [String: String] = [:]) {
            mkdir(directory.path + "/.aws", 0o700)
            mkdir(directory.path + "/.aws/sso", 0o700)
            mkdir(directory.path + "/.aws/sso/cache", 0o700)
            let configFile = directory.write("config", config)
            var environment = credentialsIsolatedEnvironment(
                [
                    "AWS_CONFIG_FILE": configFile, "AWS_PROFILE": "dev",
                    "AWS_ENDPOINT_URL_SSO": server.baseURL, "AWS_ENDPOINT_URL_SSO_OIDC": server.baseURL,
                ], directory: directory)
            environment.merge(extra) { _, new in new }
            self.environment = environment
        }

        func writeToken(_ file: String, _ token: JSONObject) {
            directory.write(".aws/sso/cache/" + file, String(decoding: JSONValue.object(token).serialized(), as: UTF8.self))
        }

        func readToken(_ file: String) throws -> JSONObject {
            let bytes = try #require(RegularFile.contents(atPath: cache + "/" + file))
            return try #require(try JSONParser.parse(bytes).objectValue)
        }

        func cacheEntries() -> [String] {
            guard let dir = opendir(cache) else { return [] }
            defer { closedir(dir) }
            var names: [String] = []
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != "." && name != ".." { names.append(name) }
            }
            return names.sorted()
        }
    }

    static func time(_ offset: Double) -> String {
        SSOCredentialProvider.formatTime(CredentialsClock.now() + offset)
    }

    /// A session token as `aws sso login` caches it.
    static func sessionToken(accessToken: String = "sso-access-token-0", expiresIn: Double = 3600, registrationExpiresIn: Double = 86400 * 30)
        -> JSONObject
    {
        [
            "startUrl": "https://corp.awsapps.com/start", "region": "eu-west-1", "accessToken": .string(accessToken),
            "expiresAt": .string(time(expiresIn)), "clientId": "oidc-client-id", "clientSecret": "oidc-client-secret-value",
            "registrationExpiresAt": .string(time(registrationExpiresIn)), "refreshToken": "refresh-token-0",
        ]
    }

    @Test("sso_session profile: the cached token (file named by the SHA-1 of the session) buys role credentials from the portal")
    func sessionProfile() async throws {
        let home = Home(server: server)
        home.writeToken(Self.sessionCacheFile, Self.sessionToken())
        let chain = try credentialsChain(home.environment)
        let credentials = try await chain.credentials()
        #expect(chain.currentSource == "sso")
        #expect(credentials.accessKeyId == "ASIASSO1")
        #expect(credentials.secretAccessKey == "sso-secret-1")
        #expect(credentials.sessionToken == "sso-session-token-1")
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration - (CredentialsClock.now() + 3600)) < 60)
        let request = try await server.stats()["last_sso_request"]
        #expect(request?["path"] == "/federation/credentials")
        #expect(request?["query"] == ["role_name": "Deploy", "account_id": "111122223333"])
        #expect(request?["token"] == "sso-access-token-0")
        #expect(try await server.count("oidc_requests") == 0)
    }

    @Test("legacy sso_start_url profile: token file named by the SHA-1 of the start URL; an expired one is not refreshed")
    func legacyProfile() async throws {
        let home = Home(server: server, extra: ["AWS_PROFILE": "legacy"])
        home.writeToken(Self.legacyCacheFile, ["accessToken": "sso-access-token-0", "expiresAt": .string(Self.time(600))])
        let chain = try credentialsChain(home.environment)
        #expect(try await chain.credentials().accessKeyId.hasPrefix("ASIASSO"))
        #expect(try await server.stats()["last_sso_request"]?["query"] == ["role_name": "ReadOnly", "account_id": "444455556666"])

        // Expired, in the older CLI's `...UTC` form: a clear error, and no CreateToken.
        let expired = SSOCredentialProvider.formatTime(CredentialsClock.now() - 60).dropLast() + "UTC"
        home.writeToken(
            Self.legacyCacheFile,
            ["accessToken": "sso-access-token-0", "expiresAt": .string(String(expired)), "refreshToken": "refresh-token-0"])
        let error = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(error?.code == .accessDenied)
        #expect(error?.message.contains("expired") == true)
        #expect(error?.message.contains("aws sso login --profile legacy") == true)
        #expect(try await server.count("oidc_requests") == 0)
        if let error { expectNoSecrets(error, ["sso-access-token-0", "refresh-token-0"]) }
    }

    @Test("an expired session token is refreshed with CreateToken and written back atomically; the new token buys credentials")
    func refreshExpiredToken() async throws {
        let home = Home(server: server)
        var token = Self.sessionToken(accessToken: "sso-access-token-stale", expiresIn: -120)
        token["extraKeyKept"] = "yes"
        home.writeToken(Self.sessionCacheFile, token)
        let chain = try credentialsChain(home.environment)
        let credentials = try await chain.credentials()
        #expect(credentials.accessKeyId.hasPrefix("ASIASSO"))
        #expect(chain.currentSource == "sso")

        #expect(try await server.count("oidc_requests") == 1)
        let request = try await server.stats()["last_oidc_request"]
        #expect(
            request == [
                "clientId": "oidc-client-id", "clientSecret": "oidc-client-secret-value", "grantType": "refresh_token",
                "refreshToken": "refresh-token-0",
            ])
        #expect(try await server.stats()["last_sso_request"]?["token"] == "sso-access-token-refreshed-1")

        let cached = try home.readToken(Self.sessionCacheFile)
        #expect(cached["accessToken"] == "sso-access-token-refreshed-1")
        #expect(cached["refreshToken"] == "refresh-token-1")
        #expect(cached["clientId"] == "oidc-client-id")
        #expect(cached["clientSecret"] == "oidc-client-secret-value")
        #expect(cached["registrationExpiresAt"] == token["registrationExpiresAt"])
        #expect(cached["startUrl"] == "https://corp.awsapps.com/start")
        #expect(cached["region"] == "eu-west-1")
        #expect(cached["extraKeyKept"] == "yes")
        let expiresAt = try #require(cached["expiresAt"]?.stringValue.flatMap(RFC3339.parse))
        #expect(abs(expiresAt - (CredentialsClock.now() + 28800)) < 60)
        // Replaced by rename: no temporary file left, owner-only mode.
        #expect(home.cacheEntries() == [Self.sessionCacheFile])
        var info = stat()
        #expect(stat(home.cache + "/" + Self.sessionCacheFile, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
    }

    @Test("a token within 15 minutes of expiry is refreshed; if that fails it is used while it lasts (as botocore)")
    func refreshWindow() async throws {
        let home = Home(server: server)
        try await server.control(#"{"sso_access_tokens": ["sso-access-token-0", "sso-access-token-soon"]}"#)
        home.writeToken(Self.sessionCacheFile, Self.sessionToken(accessToken: "sso-access-token-soon", expiresIn: 600))
        try await server.control(#"{"oidc_refresh_token": "some-other-refresh-token"}"#)
        let credentials = try await credentialsChain(home.environment).credentials()
        #expect(credentials.accessKeyId.hasPrefix("ASIASSO"))
        #expect(try await server.count("oidc_requests") == 1)
        #expect(try await server.stats()["last_sso_request"]?["token"] == "sso-access-token-soon")
        #expect(try home.readToken(Self.sessionCacheFile)["accessToken"] == "sso-access-token-soon")
    }

    @Test("expired and not refreshable: rejected grant, no refresh token, expired registration, OIDC down — each says to run aws sso login")
    func expiredNotRefreshable() async throws {
        let secrets = ["sso-access-token-stale", "refresh-token-0", "oidc-client-secret-value", "some-other-refresh-token"]
        let home = Home(server: server)
        // The OIDC service rejects the refresh token.
        try await server.control(#"{"oidc_refresh_token": "some-other-refresh-token"}"#)
        home.writeToken(Self.sessionCacheFile, Self.sessionToken(accessToken: "sso-access-token-stale", expiresIn: -60))
        let rejected = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(rejected?.code == .accessDenied)
        #expect(rejected?.message.contains("InvalidGrantException") == true)
        #expect(rejected?.message.contains("aws sso login --profile dev") == true)
        #expect(rejected?.data["upstream"]?["service"] == "sso_oidc")
        #expect(try await server.count("sso_requests") == 0)

        var noRefresh = Self.sessionToken(accessToken: "sso-access-token-stale", expiresIn: -60)
        noRefresh["refreshToken"] = nil
        home.writeToken(Self.sessionCacheFile, noRefresh)
        let missing = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(missing?.message.contains("no refresh token") == true)
        #expect(missing?.message.contains("aws sso login --profile dev") == true)

        home.writeToken(
            Self.sessionCacheFile, Self.sessionToken(accessToken: "sso-access-token-stale", expiresIn: -60, registrationExpiresIn: -1))
        let registration = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(registration?.message.contains("registration") == true)
        #expect(try await server.count("oidc_requests") == 1)

        try await server.control(#"{"oidc_refresh_token": "refresh-token-0", "oidc_failures": 3, "oidc_status": 503}"#)
        home.writeToken(Self.sessionCacheFile, Self.sessionToken(accessToken: "sso-access-token-stale", expiresIn: -60))
        let down = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(down?.code == .unavailable)
        #expect(down?.code.kind == .recoverable)
        #expect(try await server.count("oidc_requests") == 4)

        for error in [rejected, missing, registration, down].compactMap({ $0 }) {
            expectNoSecrets(error, secrets)
        }
    }

    @Test("no cached token, or a token the portal rejects: errors naming aws sso login and the active profile")
    func loginNeeded() async throws {
        let home = Home(server: server)
        let none = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(none?.code == .configInvalid)
        #expect(none?.message.contains("aws sso login --profile dev") == true)
        #expect(none?.message.contains(home.cache + "/" + Self.sessionCacheFile) == true)

        home.writeToken(Self.sessionCacheFile, Self.sessionToken(accessToken: "sso-access-token-revoked"))
        let revoked = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(revoked?.code == .accessDenied)
        #expect(revoked?.message.contains("expired or is otherwise invalid") == true)
        #expect(revoked?.message.contains("aws sso login --profile dev") == true)
        #expect(revoked?.data["upstream"]?["code"] == "UnauthorizedException")
        #expect(revoked?.data["upstream"]?["httpStatus"] == 401)
        if let revoked { expectNoSecrets(revoked, ["sso-access-token-revoked", "refresh-token-0", "oidc-client-secret-value"]) }

        // Through a role profile whose source_profile is the SSO profile, the hint names the
        // profile the daemon runs as.
        var app = home.environment
        app["AWS_PROFILE"] = "app"
        let viaRole = await expectRolloutError { _ = try await credentialsChain(app).credentials() }
        #expect(viaRole?.message.contains("aws sso login --profile app") == true)
    }

    @Test("a portal outage is retried, then Unavailable")
    func portalOutage() async throws {
        let home = Home(server: server)
        home.writeToken(Self.sessionCacheFile, Self.sessionToken())
        try await server.control(#"{"sso_failures": 2, "sso_status": 500}"#)
        #expect(try await credentialsChain(home.environment).credentials().accessKeyId == "ASIASSO3")
        try await server.control(#"{"sso_failures": 3, "sso_status": 503}"#)
        let error = await expectRolloutError { _ = try await credentialsChain(home.environment).credentials() }
        #expect(error?.code == .unavailable)
        #expect(error?.data["upstream"]?["service"] == "sso")
    }

    @Test("SSO settings: missing keys listed, unknown sso-session, profile and session disagreeing")
    func configurationErrors() throws {
        func error(_ config: String) -> RolloutError? {
            do {
                _ = try SSOConfiguration(profileName: "p", in: try SharedConfigFile(parsing: config))
                Issue.record("expected an error")
            } catch let error as RolloutError {
                return error
            } catch {
                Issue.record("\(error)")
            }
            return nil
        }
        #expect(try SSOConfiguration(profileName: "p", in: SharedConfigFile(parsing: "[profile p]\nregion = x\n")) == nil)
        let missing = error("[profile p]\nsso_account_id = 1\n")
        #expect(missing?.message.contains("sso_role_name, sso_start_url, sso_region") == true)
        #expect(error("[profile p]\nsso_account_id = 1\nsso_role_name = r\nsso_session = ghost\n")?.message.contains("ghost") == true)
        let disagree = error(
            """
            [profile p]
            sso_session = s
            sso_account_id = 1
            sso_role_name = r
            sso_region = us-east-1
            [sso-session s]
            sso_start_url = https://x.awsapps.com/start
            sso_region = eu-west-1
            """)
        #expect(disagree?.message.contains("sso_region") == true)
        let badRegion = error("[profile p]\nsso_account_id = 1\nsso_role_name = r\nsso_start_url = u\nsso_region = eu west\n")
        #expect(badRegion?.message.contains("sso_region") == true)
    }

    @Test("portal and OIDC endpoints: the sso_region's partition by default; AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL and [services] override")
    func endpoints() throws {
        func resolve(_ serviceID: String, _ prefix: String, _ region: String, _ environment: [String: String], _ config: String = "")
            throws -> (String, String)
        {
            let resolved = try EndpointResolver.credentialServiceEndpoint(
                serviceID: serviceID, endpointPrefix: prefix, region: region, environment: environment,
                sharedConfig: try SharedConfigFile(parsing: config), profileName: "default")
            return (resolved.url, resolved.source.description)
        }
        #expect(try resolve("SSO", "portal.sso", "eu-west-1", [:]) == ("https://portal.sso.eu-west-1.amazonaws.com", "default"))
        #expect(try resolve("SSO OIDC", "oidc", "cn-north-1", [:]) == ("https://oidc.cn-north-1.amazonaws.com.cn", "default"))
        #expect(
            try resolve("SSO OIDC", "oidc", "eu-west-1", ["AWS_ENDPOINT_URL_SSO_OIDC": "http://127.0.0.1:9"])
                == ("http://127.0.0.1:9", "env:AWS_ENDPOINT_URL_SSO_OIDC"))
        #expect(
            try resolve("SSO", "portal.sso", "eu-west-1", ["AWS_ENDPOINT_URL": "http://127.0.0.1:8"])
                == ("http://127.0.0.1:8", "env:AWS_ENDPOINT_URL"))
        let services = "[default]\nservices = local\n[services local]\nsso =\n  endpoint_url = http://127.0.0.1:7\n"
        #expect(try resolve("SSO", "portal.sso", "eu-west-1", [:], services) == ("http://127.0.0.1:7", "profile:default:services:local"))
        #expect(
            try resolve("SSO", "portal.sso", "eu-west-1", ["AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://x:1"], services)
                == ("https://portal.sso.eu-west-1.amazonaws.com", "default"))
    }
}
