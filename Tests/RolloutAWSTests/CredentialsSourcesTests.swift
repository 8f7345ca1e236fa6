import AWSConfig
import AWSSigV4
import CurlHTTP
import Glibc
import RolloutCore
import RolloutSystem
import Testing
@testable import RolloutAWS

/// Every source of the chain, end to end: the same environment and shared files resolve to the
/// same source in botocore (`Session().get_credentials().method`, run in a subprocess), and a
/// request signed with the credentials the chain found reaches moto (STS `GetCallerIdentity`).
/// STS and IMDS are moto's; the container endpoint and IAM Identity Center are the fake's.
@Suite("Credentials: every source, botocore parity, signed requests reach moto", .serialized, .motoServer)
struct CredentialsSourcesTests {
    /// One setup of environment and files. In the texts, `{MOTO}`, `{FAKE}`, `{HOME}` and
    /// `{SCRIPT}` (the credential_process fixture) are replaced before use.
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var environment: [String: String] = [:]
        var config = ""
        var credentials = ""
        /// The profile named in the daemon's configuration (botocore `Session(profile=...)`).
        var explicitProfile: String?
        /// Writes a valid IAM Identity Center token for the sso-session `corp`.
        var ssoToken = false
        /// The chain's source; nil when no credentials are found.
        var source: String?
        /// botocore's `Credentials.method` (`none` when it finds none).
        var botocoreMethod: String
        /// Part of the `Arn` moto's GetCallerIdentity answers.
        var arn = ""

        var testDescription: String { name }
    }

    static let ssoConfig = """
        [profile dev]
        sso_session = corp
        sso_account_id = 123456789012
        sso_role_name = Deploy
        [sso-session corp]
        sso_start_url = https://corp.awsapps.com/start
        sso_region = eu-west-1
        """

    static let cases: [Case] = [
        Case(
            name: "env beats the credentials file",
            environment: ["AWS_ACCESS_KEY_ID": "AKIDENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "env-secret"],
            credentials: "[default]\naws_access_key_id = AKIDCREDSFILE\naws_secret_access_key = creds-secret\n",
            source: "env", botocoreMethod: "env", arn: ":user/moto"),
        Case(
            name: "assume-role beats web identity from the environment",
            environment: [
                "AWS_PROFILE": "app", "AWS_WEB_IDENTITY_TOKEN_FILE": "{HOME}/token",
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
            ],
            config: "[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = base\nrole_session_name = s1\n",
            credentials: "[base]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n",
            source: "assume-role", botocoreMethod: "assume-role", arn: ":assumed-role/app/s1"),
        Case(
            name: "web identity beats the credentials file",
            environment: [
                "AWS_WEB_IDENTITY_TOKEN_FILE": "{HOME}/token", "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/irsa",
                "AWS_ROLE_SESSION_NAME": "pod",
            ],
            credentials: "[default]\naws_access_key_id = AKIDCREDSFILE\naws_secret_access_key = creds-secret\n",
            source: "web-identity", botocoreMethod: "assume-role-with-web-identity", arn: ":assumed-role/irsa/pod"),
        Case(
            name: "sso beats the credentials file",
            environment: ["AWS_PROFILE": "dev"], config: ssoConfig,
            credentials: "[dev]\naws_access_key_id = AKIDCREDSFILE\naws_secret_access_key = creds-secret\n", ssoToken: true,
            source: "sso", botocoreMethod: "sso", arn: ":user/moto"),
        Case(
            name: "an SSO profile as source_profile",
            environment: ["AWS_PROFILE": "app"],
            config: ssoConfig + "\n[profile app]\nrole_arn = arn:aws:iam::123456789012:role/app\nsource_profile = dev\nrole_session_name = s2\n",
            ssoToken: true, source: "assume-role", botocoreMethod: "assume-role", arn: ":assumed-role/app/s2"),
        Case(
            name: "credentials-file keys beat credential_process",
            config: "[default]\ncredential_process = python3 {SCRIPT} ok --key AKIDPROCESS\n",
            credentials: "[default]\naws_access_key_id = AKIDCREDSFILE\naws_secret_access_key = creds-secret\n",
            source: "shared-credentials-file", botocoreMethod: "shared-credentials-file", arn: ":user/moto"),
        Case(
            name: "credential_process beats config-file keys",
            config: "[default]\ncredential_process = python3 {SCRIPT} ok --key AKIDPROCESS\naws_access_key_id = AKIDCONFIG\n"
                + "aws_secret_access_key = config-secret\n",
            source: "process", botocoreMethod: "custom-process", arn: ":user/moto"),
        Case(
            name: "credential_process in the credentials file",
            credentials: "[default]\ncredential_process = python3 {SCRIPT} ok --key AKIDPROCESS --expires-in 3600\n",
            source: "process", botocoreMethod: "custom-process", arn: ":user/moto"),
        Case(
            name: "config-file keys",
            config: "[default]\naws_access_key_id = AKIDCONFIG\naws_secret_access_key = config-secret\n",
            source: "config-file", botocoreMethod: "config-file", arn: ":user/moto"),
        Case(
            name: "container",
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "{FAKE}/container/v1/credentials"],
            source: "container", botocoreMethod: "container-role", arn: ":user/moto"),
        Case(
            name: "imds",
            environment: ["AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": "{MOTO}"],
            source: "imds", botocoreMethod: "iam-role", arn: ":user/moto"),
        Case(
            name: "an explicitly named profile skips env",
            environment: ["AWS_ACCESS_KEY_ID": "AKIDENVIRONMENT", "AWS_SECRET_ACCESS_KEY": "env-secret"],
            credentials: "[static]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = static-secret\n",
            explicitProfile: "static", source: "shared-credentials-file", botocoreMethod: "shared-credentials-file",
            arn: ":user/moto"),
        Case(name: "nothing", source: nil, botocoreMethod: "none"),
    ]

    @Test(arguments: cases)
    func source(_ setup: Case) async throws {
        let moto = try MotoServer.url
        let fake = try await CredentialsFakeServer()
        defer { fake.process.stop() }
        let home = CredentialsTempDirectory()
        func fill(_ text: String) -> String {
            text.replacing("{MOTO}", with: moto).replacing("{FAKE}", with: fake.baseURL).replacing("{HOME}", with: home.path)
                .replacing("{SCRIPT}", with: CredentialsProcessTests.script)
        }
        home.write("token", "web-identity-token-for-moto")
        var extra = [
            "PATH": ProcessEnvironment.path, "AWS_CONFIG_FILE": home.write("config", fill(setup.config)),
            "AWS_SHARED_CREDENTIALS_FILE": home.write("credentials", fill(setup.credentials)),
            "AWS_ENDPOINT_URL_SSO": fake.baseURL, "AWS_ENDPOINT_URL_SSO_OIDC": fake.baseURL,
        ]
        for (name, value) in setup.environment { extra[name] = fill(value) }
        let environment = credentialsIsolatedEnvironment(extra, directory: home)
        if setup.ssoToken {
            for directory in [".aws", ".aws/sso", ".aws/sso/cache"] { mkdir(home.path + "/" + directory, 0o700) }
            home.write(
                ".aws/sso/cache/" + CredentialsSSOTests.sessionCacheFile,
                #"{"accessToken": "sso-access-token-0", "expiresAt": "\#(SSOCredentialProvider.formatTime(CredentialsClock.now() + 3600))"}"#)
        }

        #expect(try await Self.botocoreMethod(environment, profile: setup.explicitProfile) == setup.botocoreMethod)

        let files = try credentialsSharedFiles(environment)
        let chain = CredentialChain(
            environment: environment,
            profileName: SharedConfigFile.activeProfileName(configuredProfile: setup.explicitProfile, environment: environment),
            configFile: files.config, credentialsFile: files.credentials, explicitProfile: setup.explicitProfile != nil,
            httpClient: CurlHTTPClient(), sts: STSEndpoint(url: moto, region: "us-east-1"))
        guard let expected = setup.source else {
            #expect(await expectRolloutError { _ = try await chain.credentials() }?.code == .configInvalid)
            #expect(await chain.health() == .unavailable(try #require(await expectRolloutError { _ = try await chain.credentials() })))
            return
        }
        let credentials = try await chain.credentials()
        #expect(chain.currentSource == expected)
        #expect(await chain.health() == .available(source: expected, expiresAt: credentials.expiration))

        // A request signed by the chain reaches moto with these keys.
        let recorder = CredentialsRecordingHTTPClient()
        let sts = try AWSClient(service: .sts, endpointURL: moto, region: "us-east-1", credentials: chain, http: recorder)
        let identity = try await sts.queryCallXML(action: "GetCallerIdentity", version: "2011-06-15")
        let arn = identity.child("GetCallerIdentityResult")?.childText("Arn") ?? ""
        #expect(arn.contains(setup.arn), "\(arn)")
        let request = try #require(recorder.requests.last)
        #expect(request.header("authorization")?.contains("Credential=\(credentials.accessKeyId)/") == true)
        #expect(request.header("x-amz-security-token") == credentials.sessionToken)
    }

    /// botocore's `Credentials.method` for `environment`, with `Session(profile=profile)` when
    /// a profile is named explicitly.
    static func botocoreMethod(_ environment: [String: String], profile: String?) async throws -> String {
        let script = """
            import sys, botocore.session
            session = botocore.session.Session(profile=sys.argv[1] if len(sys.argv) > 1 else None)
            credentials = session.get_credentials()
            print(credentials.method if credentials else "none")
            """
        let arguments = ["python3", "-c", script] + (profile.map { [$0] } ?? [])
        let outcome = try await CredentialIO.shared.run { flag throws(SystemError) in
            try ChildProcess.run(arguments, environment: environment, timeout: .seconds(60), outputLimit: 1 << 16, cancellation: flag)
        }
        guard case .exited(0, let output) = outcome else {
            throw CredentialsFixtureError("botocore failed: \(outcome)")
        }
        return CredentialText.trimmed(String(decoding: output, as: UTF8.self))
    }
}

/// This test process's environment, for children that need a `PATH`.
enum ProcessEnvironment {
    static var path: String {
        getenv("PATH").map { String(cString: $0) } ?? "/usr/local/bin:/usr/bin:/bin"
    }
}
