import AWSSigV4
import CurlHTTP
import RolloutCore
import Testing
@testable import RolloutAWS

/// Against a real moto_server (started once for the suite, stopped after it).
///
/// What moto can do here: STS `AssumeRoleWithWebIdentity` (it does not validate the token) and
/// `AssumeRole` (it routes Query requests to STS by the SigV4 credential scope — an unsigned
/// AssumeRole lands in its S3 handler — but accepts any signature), STS `ValidationError`
/// responses, and IMDS role credentials at `/latest/meta-data/iam/security-credentials/`.
/// What it cannot: its IMDS hands out a fixed token (`fake-imdsv2-token`) but never requires or
/// expires one (token-less GETs succeed), and its STS never denies access. Token enforcement,
/// 401 handling and STS AccessDenied are therefore tested against the strict fake
/// (CredentialsFakeServerTests).
@Suite("Credentials against moto", .serialized, .motoServer)
struct CredentialsMotoTests {
    @Test("web identity: unsigned AssumeRoleWithWebIdentity; the token file is re-read on every load")
    func webIdentity() async throws {
        let moto = try MotoServer.url
        let directory = CredentialsTempDirectory()
        let tokenFile = directory.write("token", "oidc-token-one-secret")
        let environment = credentialsIsolatedEnvironment(
            [
                "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/rollout-irsa",
                "AWS_ROLE_SESSION_NAME": "rollout-test",
            ], directory: directory)
        let recorder = CredentialsRecordingHTTPClient()
        let chain = try credentialsChain(environment, httpClient: recorder, sts: moto)
        let credentials = try await chain.credentials()
        #expect(credentials.accessKeyId.hasPrefix("ASIA"))
        #expect(!credentials.secretAccessKey.isEmpty)
        #expect(credentials.sessionToken?.isEmpty == false)
        let expiration = try #require(credentials.expiration)
        #expect(abs(expiration - (CredentialsClock.now() + 3600)) < 120)
        #expect(chain.currentSource == "web-identity")
        #expect(chain.expiresAt == expiration)

        let request = try #require(recorder.requests.first)
        #expect(request.method == "POST")
        #expect(request.url == moto + "/")
        #expect(request.header("authorization") == nil)
        #expect(request.header("content-type") == "application/x-www-form-urlencoded; charset=utf-8")
        #expect(
            request.bodyText
                == "Action=AssumeRoleWithWebIdentity&Version=2011-06-15"
                + "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Frollout-irsa"
                + "&RoleSessionName=rollout-test&WebIdentityToken=oidc-token-one-secret")

        // The kubelet rotates the file: the next load sends the new token.
        directory.write("token", "oidc-token-two-secret")
        let provider = WebIdentityCredentialProvider(
            environment: environment, profileName: "default", profile: nil,
            sts: STSClient(endpoint: STSEndpoint(url: moto, region: "us-east-1"), httpClient: recorder))
        #expect(try await provider.load()?.accessKeyId.hasPrefix("ASIA") == true)
        #expect(recorder.requests.last?.bodyText.hasSuffix("WebIdentityToken=oidc-token-two-secret") == true)
    }

    @Test("web identity from the profile's web_identity_token_file and role_arn; default session name")
    func webIdentityFromProfile() async throws {
        let moto = try MotoServer.url
        let directory = CredentialsTempDirectory()
        let tokenFile = directory.write("token", "profile-oidc-token")
        let config = directory.write(
            "config",
            "[profile eks]\nweb_identity_token_file = \(tokenFile)\nrole_arn = arn:aws:iam::123456789012:role/eks\n")
        let environment = credentialsIsolatedEnvironment(["AWS_CONFIG_FILE": config, "AWS_PROFILE": "eks"], directory: directory)
        let recorder = CredentialsRecordingHTTPClient()
        let chain = try credentialsChain(environment, httpClient: recorder, sts: moto)
        #expect(try await chain.credentials().accessKeyId.hasPrefix("ASIA"))
        #expect(chain.currentSource == "web-identity")
        let body = recorder.requests.first?.bodyText ?? ""
        #expect(body.contains("RoleSessionName=rolloutd-"))
        #expect(body.contains("role%2Feks"))
    }

    @Test("assume-role: role_arn + source_profile chains, each AssumeRole signed with the previous credentials")
    func assumeRoleChain() async throws {
        let moto = try MotoServer.url
        let directory = CredentialsTempDirectory()
        let config = directory.write(
            "config",
            """
            [profile middle]
            role_arn = arn:aws:iam::123456789012:role/middle
            source_profile = base
            [profile app]
            role_arn = arn:aws:iam::123456789012:role/app
            source_profile = middle
            role_session_name = rollout-app
            external_id = ext-123
            duration_seconds = 1800
            """)
        let credentials = directory.write(
            "credentials", "[base]\naws_access_key_id = AKIDBASEEXAMPLE\naws_secret_access_key = base-secret-value\n")
        let environment = credentialsIsolatedEnvironment(
            ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials], directory: directory)
        let recorder = CredentialsRecordingHTTPClient()
        let chain = try credentialsChain(environment, profile: "app", httpClient: recorder, sts: moto)
        let result = try await chain.credentials()
        #expect(result.accessKeyId.hasPrefix("ASIA"))
        #expect(result.sessionToken?.isEmpty == false)
        #expect(chain.currentSource == "assume-role")
        let expiration = try #require(chain.expiresAt)
        #expect(abs(expiration - (CredentialsClock.now() + 1800)) < 120)

        let requests = recorder.requests
        try #require(requests.count == 2)
        // base's static keys assume middle ...
        let first = requests[0]
        let firstAuthorization = first.header("authorization") ?? ""
        #expect(firstAuthorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDBASEEXAMPLE/"))
        #expect(firstAuthorization.contains("/us-east-1/sts/aws4_request"))
        #expect(firstAuthorization.contains("SignedHeaders=content-type;host;x-amz-date,"))
        #expect(first.header("x-amz-security-token") == nil)
        #expect(first.bodyText.contains("Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmiddle"))
        // ... whose temporary credentials assume app, with its session name, external id and duration.
        let second = requests[1]
        let secondAuthorization = second.header("authorization") ?? ""
        #expect(secondAuthorization.hasPrefix("AWS4-HMAC-SHA256 Credential=ASIA"))
        #expect(secondAuthorization.contains("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"))
        #expect(second.header("x-amz-security-token")?.isEmpty == false)
        #expect(second.bodyText.contains("role%2Fapp&RoleSessionName=rollout-app&ExternalId=ext-123&DurationSeconds=1800"))
    }

    @Test("assume-role: a profile that is its own source_profile uses its static keys")
    func selfSourcedProfile() async throws {
        let moto = try MotoServer.url
        let directory = CredentialsTempDirectory()
        let credentials = directory.write(
            "credentials",
            """
            [selfie]
            aws_access_key_id = AKIDSELFEXAMPLE
            aws_secret_access_key = self-secret-value
            role_arn = arn:aws:iam::123456789012:role/selfie
            source_profile = selfie
            """)
        let environment = credentialsIsolatedEnvironment(["AWS_SHARED_CREDENTIALS_FILE": credentials], directory: directory)
        let recorder = CredentialsRecordingHTTPClient()
        let chain = try credentialsChain(environment, profile: "selfie", httpClient: recorder, sts: moto)
        #expect(try await chain.credentials().accessKeyId.hasPrefix("ASIA"))
        #expect(recorder.requests.count == 1)
        #expect(recorder.requests.first?.header("authorization")?.contains("Credential=AKIDSELFEXAMPLE/") == true)
    }

    @Test("an STS error from moto becomes a RolloutError with data.upstream")
    func stsValidationError() async throws {
        let moto = try MotoServer.url
        let sts = STSClient(endpoint: STSEndpoint(url: moto, region: "us-east-1"), httpClient: CurlHTTPClient())
        let source = AWSCredentials(accessKeyId: "AKIDSOURCE", secretAccessKey: "source-secret-value", sessionToken: "source-token-value")
        let error = await expectRolloutError {
            _ = try await sts.assumeRole(
                roleARN: "arn:aws:iam::123456789012:role/x", sessionName: String(repeating: "s", count: 70),
                credentials: source)
        }
        #expect(error?.code == .configInvalid)
        let upstream = error?.data["upstream"]
        #expect(upstream?["service"] == "sts")
        #expect(upstream?["code"] == "ValidationError")
        #expect(upstream?["httpStatus"] == 400)
        #expect(upstream?["requestId"]?.stringValue?.isEmpty == false)
        if let error { expectNoSecrets(error, ["source-secret-value", "source-token-value"]) }
    }

    @Test("IMDS role credentials from moto's metadata endpoint (token fetched and sent, though moto ignores it)")
    func imds() async throws {
        let moto = try MotoServer.url
        let recorder = CredentialsRecordingHTTPClient()
        let provider = IMDSCredentialProvider(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": moto], httpClient: recorder)
        let credentials = try #require(try await provider.load())
        #expect(credentials.accessKeyId == "test-key")
        #expect(credentials.secretAccessKey == "test-secret-key")
        #expect(credentials.sessionToken == "test-session-token")
        #expect(credentials.expiration.map { $0 > CredentialsClock.now() } == true)
        let requests = recorder.requests
        #expect(requests.map(\.method) == ["PUT", "GET", "GET"])
        #expect(requests.first?.url == moto + "/latest/api/token")
        #expect(requests.first?.header("X-aws-ec2-metadata-token-ttl-seconds") == "21600")
        #expect(requests.dropFirst().allSatisfy { $0.header("X-aws-ec2-metadata-token") == "fake-imdsv2-token" })
        #expect(requests.last?.url == moto + "/latest/meta-data/iam/security-credentials/default-role")

        // Through the chain, as the last source.
        let directory = CredentialsTempDirectory()
        let environment = credentialsIsolatedEnvironment(
            ["AWS_EC2_METADATA_DISABLED": "false", "AWS_EC2_METADATA_SERVICE_ENDPOINT": moto], directory: directory)
        let chain = try credentialsChain(environment)
        #expect(try await chain.credentials().accessKeyId == "test-key")
        #expect(chain.currentSource == "imds")
        #expect(chain.imdsSession?.endpoint == moto)
    }
}
