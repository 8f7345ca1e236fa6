import AWSSigV4
import CurlHTTP
import RolloutCore
import Testing
@testable import RolloutAWS

@Suite("Credentials: providers, chain order, parsing helpers")
struct CredentialsUnitTests {
    @Test("env provider: keys and token; unset is nil; a lone key is ConfigInvalid without values")
    func environmentProvider() async throws {
        let credentials = try await EnvironmentCredentialProvider(environment: [
            "AWS_ACCESS_KEY_ID": "AKIDENVEXAMPLE", "AWS_SECRET_ACCESS_KEY": "env-secret-value",
            "AWS_SESSION_TOKEN": "env-session-token",
        ]).load()
        #expect(credentials?.accessKeyId == "AKIDENVEXAMPLE")
        #expect(credentials?.secretAccessKey == "env-secret-value")
        #expect(credentials?.sessionToken == "env-session-token")
        #expect(credentials?.expiration == nil)
        #expect(try await EnvironmentCredentialProvider(environment: [:]).load() == nil)
        #expect(try await EnvironmentCredentialProvider(environment: ["AWS_ACCESS_KEY_ID": ""]).load() == nil)
        let error = await expectRolloutError {
            _ = try await EnvironmentCredentialProvider(environment: ["AWS_SECRET_ACCESS_KEY": "lonely-secret-value"]).load()
        }
        #expect(error?.code == .configInvalid)
        #expect(error?.message.contains("AWS_ACCESS_KEY_ID") == true)
        if let error { expectNoSecrets(error, ["lonely-secret-value"]) }
    }

    @Test("chain order: env wins over the profile; the source is remembered")
    func envWinsOverProfile() async throws {
        let directory = CredentialsTempDirectory()
        let credentialsFile = directory.write(
            "credentials", "[default]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret-value\n")
        let environment = credentialsIsolatedEnvironment(
            [
                "AWS_SHARED_CREDENTIALS_FILE": credentialsFile,
                "AWS_ACCESS_KEY_ID": "AKIDENV", "AWS_SECRET_ACCESS_KEY": "env-secret-value",
            ], directory: directory)
        let chain = try credentialsChain(environment)
        #expect(
            chain.sources == [
                "env", "assume-role", "web-identity", "sso", "shared-credentials-file", "process", "config-file", "container", "imds",
            ])
        #expect(chain.currentSource == nil)
        let credentials = try await chain.credentials()
        #expect(credentials.accessKeyId == "AKIDENV")
        #expect(chain.currentSource == "env")
        #expect(chain.expiresAt == nil)

        var withoutEnv = environment
        withoutEnv["AWS_ACCESS_KEY_ID"] = nil
        withoutEnv["AWS_SECRET_ACCESS_KEY"] = nil
        let profileChain = try credentialsChain(withoutEnv)
        #expect(try await profileChain.credentials().accessKeyId == "AKIDPROFILE")
        #expect(profileChain.currentSource == "shared-credentials-file")
    }

    @Test("profile static keys: credentials file first, then config file; named profiles; partial keys refused")
    func profileStaticKeys() async throws {
        let directory = CredentialsTempDirectory()
        let config = directory.write(
            "config",
            """
            [default]
            aws_access_key_id = AKIDCONFIGDEFAULT
            aws_secret_access_key = config-default-secret
            [profile dev]
            aws_access_key_id = AKIDCONFIGDEV
            aws_secret_access_key = config-dev-secret
            aws_session_token = config-dev-token
            [profile half]
            aws_access_key_id = AKIDHALF
            """)
        let credentials = directory.write(
            "credentials",
            """
            [default]
            aws_access_key_id = AKIDCREDSDEFAULT
            aws_secret_access_key = creds-default-secret
            """)
        let environment = credentialsIsolatedEnvironment(
            ["AWS_CONFIG_FILE": config, "AWS_SHARED_CREDENTIALS_FILE": credentials], directory: directory)
        func chain(_ name: String) throws -> CredentialChain {
            var named = environment
            named["AWS_PROFILE"] = name
            return try credentialsChain(named)
        }
        let defaultChain = try chain("default")
        let defaultProfile = try await defaultChain.credentials()
        #expect(defaultProfile.accessKeyId == "AKIDCREDSDEFAULT")
        #expect(defaultProfile.secretAccessKey == "creds-default-secret")
        #expect(defaultChain.currentSource == "shared-credentials-file")

        // AWS_PROFILE selects the profile in the chain.
        let devChain = try chain("dev")
        let dev = try await devChain.credentials()
        #expect(dev.accessKeyId == "AKIDCONFIGDEV")
        #expect(dev.sessionToken == "config-dev-token")
        #expect(devChain.currentSource == "config-file")

        let partial = await expectRolloutError { _ = try await chain("half").credentials() }
        #expect(partial?.code == .configInvalid)
        #expect(partial?.message.contains("aws_secret_access_key") == true)

        let missing = await expectRolloutError { _ = try await chain("nope").credentials() }
        #expect(missing?.code == .configInvalid)
        #expect(missing?.message.contains("nope") == true)
        for error in [partial, missing].compactMap({ $0 }) {
            expectNoSecrets(error, ["config-default-secret", "config-dev-secret", "creds-default-secret", "config-dev-token"])
        }
    }

    @Test("no source configured: ConfigInvalid listing every source tried, with no secret text")
    func nothingConfigured() async throws {
        let directory = CredentialsTempDirectory()
        let credentials = directory.write(
            "credentials", "[other]\naws_access_key_id = AKIDOTHER\naws_secret_access_key = other-profile-secret\n")
        let environment = credentialsIsolatedEnvironment(
            [
                "AWS_SHARED_CREDENTIALS_FILE": credentials,
                // A token without keys is not credentials, and must not be echoed.
                "AWS_SESSION_TOKEN": "stray-session-token-value",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "stray-container-token",
                "AWS_EC2_METADATA_DISABLED": "false",
                "AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1",
            ], directory: directory)
        let chain = try credentialsChain(environment)
        let error = await expectRolloutError { _ = try await chain.credentials() }
        #expect(error?.code == .configInvalid)
        #expect(error?.code.reason == "ConfigInvalid")
        let message = error?.message ?? ""
        #expect(message.hasPrefix("no AWS credentials found"))
        for mention in [
            "env", "AWS_ACCESS_KEY_ID", "web-identity", "AWS_WEB_IDENTITY_TOKEN_FILE", "profile default", credentials,
            "container", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "imds", "http://127.0.0.1:1",
        ] {
            #expect(message.contains(mention), "missing \(mention)")
        }
        if let error {
            expectNoSecrets(error, ["stray-session-token-value", "stray-container-token", "other-profile-secret", "AKIDOTHER"])
        }
        #expect(chain.currentSource == nil)
    }

    @Test("assume-role profiles: loops, missing source profiles and MFA are ConfigInvalid before any STS call")
    func assumeRoleConfigErrors() async throws {
        let directory = CredentialsTempDirectory()
        let config = directory.write(
            "config",
            """
            [profile a]
            role_arn = arn:aws:iam::123456789012:role/a
            source_profile = b
            [profile b]
            role_arn = arn:aws:iam::123456789012:role/b
            source_profile = a
            [profile dangling]
            role_arn = arn:aws:iam::123456789012:role/d
            source_profile = ghost
            [profile mfa]
            role_arn = arn:aws:iam::123456789012:role/m
            source_profile = keys
            mfa_serial = arn:aws:iam::123456789012:mfa/me
            [profile nosource]
            role_arn = arn:aws:iam::123456789012:role/n
            [profile keys]
            aws_access_key_id = AKIDKEYS
            aws_secret_access_key = keys-secret-value
            """)
        let recorder = CredentialsRecordingHTTPClient()
        let environment = credentialsIsolatedEnvironment(["AWS_CONFIG_FILE": config], directory: directory)
        let files = try credentialsSharedFiles(environment)
        let sts = STSClient(endpoint: STSEndpoint(url: "http://127.0.0.1:1", region: "us-east-1"), httpClient: recorder)
        func load(_ name: String) async -> RolloutError? {
            let provider = AssumeRoleCredentialProvider(
                profileName: name, configFile: files.config, credentialsFile: files.credentials, sts: sts)
            #expect(provider.source == "assume-role")
            return await expectRolloutError { _ = try await provider.load() }
        }
        let loop = await load("a")
        #expect(loop?.code == .configInvalid)
        #expect(loop?.message.contains("a -> b -> a") == true)
        #expect(await load("dangling")?.message.contains("ghost") == true)
        #expect(await load("mfa")?.message.contains("mfa_serial") == true)
        #expect(await load("nosource")?.message.contains("source_profile") == true)
        #expect(recorder.requests.isEmpty)
    }

    @Test("web identity: a token file without a role, or an unreadable one, is ConfigInvalid; none is nil")
    func webIdentityConfigErrors() async throws {
        let sts = STSClient(endpoint: STSEndpoint(url: "http://127.0.0.1:1", region: "us-east-1"), httpClient: CurlHTTPClient())
        let none = WebIdentityCredentialProvider(environment: [:], profileName: "default", profile: nil, sts: sts)
        #expect(try await none.load() == nil)
        let directory = CredentialsTempDirectory()
        let token = directory.write("token", "web-identity-token-secret")
        let noRole = WebIdentityCredentialProvider(
            environment: ["AWS_WEB_IDENTITY_TOKEN_FILE": token], profileName: "default", profile: nil, sts: sts)
        let noRoleError = await expectRolloutError { _ = try await noRole.load() }
        #expect(noRoleError?.code == .configInvalid)
        #expect(noRoleError?.message.contains("AWS_ROLE_ARN") == true)
        let missingFile = WebIdentityCredentialProvider(
            environment: ["AWS_WEB_IDENTITY_TOKEN_FILE": directory.path + "/absent", "AWS_ROLE_ARN": "arn:aws:iam::1:role/x"],
            profileName: "default", profile: nil, sts: sts)
        let missingError = await expectRolloutError { _ = try await missingFile.load() }
        #expect(missingError?.code == .configInvalid)
        #expect(missingError?.message.contains(directory.path + "/absent") == true)
        if let noRoleError { expectNoSecrets(noRoleError, ["web-identity-token-secret"]) }
    }

    @Test("container FULL_URI hosts: https anywhere; http only to loopback and the ECS/EKS addresses")
    func fullURIValidation() async throws {
        for allowed in [
            "https://anything.example.com/creds", "https://203.0.113.9:8443/x", "http://127.0.0.1/creds",
            "http://127.0.0.1:8080/creds", "http://127.42.0.7/", "http://localhost:9000/x", "http://LOCALHOST/x",
            "http://[::1]:8080/x", "http://169.254.170.2/v2/credentials", "http://169.254.170.23/v1/credentials",
            "http://[fd00:ec2::23]/v1/credentials", "http://[fd00:ec2:0:0:0:0:0:23]/v1/credentials",
        ] {
            #expect(ContainerCredentialProvider.isAllowedFullURI(allowed), "\(allowed) should be allowed")
        }
        for refused in [
            "http://example.com/creds", "http://169.254.170.3/", "http://169.254.169.254/latest", "http://10.0.0.1/",
            "http://127.0.0.1.example.com/", "http://[::2]/", "http://[fd00:ec2::24]/", "ftp://127.0.0.1/",
            "127.0.0.1/creds", "http://0x7f000001/", "http://2130706433/",
        ] {
            #expect(!ContainerCredentialProvider.isAllowedFullURI(refused), "\(refused) should be refused")
        }
        let provider = ContainerCredentialProvider(
            environment: [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://example.com/creds",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "container-auth-secret",
            ], httpClient: CredentialsRecordingHTTPClient())
        let error = await expectRolloutError { _ = try await provider.load() }
        #expect(error?.code == .configInvalid)
        #expect(error?.message.contains("AWS_CONTAINER_CREDENTIALS_FULL_URI") == true)
        if let error { expectNoSecrets(error, ["container-auth-secret"]) }
        #expect(try await ContainerCredentialProvider(environment: [:], httpClient: CurlHTTPClient()).load() == nil)
    }

    @Test("container: RELATIVE_URI goes to 169.254.170.2 and wins over FULL_URI; the token is sent")
    func containerRelativeURI() async throws {
        let client = CredentialsCannedHTTPClient(
            body: #"{"AccessKeyId":"ASIAREL","SecretAccessKey":"rel-secret","Token":"rel-token","Expiration":"2030-01-01T00:00:00Z"}"#)
        let credentials = try await ContainerCredentialProvider(
            environment: [
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/task-1",
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/ignored",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "ecs-token",
            ], httpClient: client
        ).load()
        #expect(credentials?.accessKeyId == "ASIAREL")
        #expect(credentials?.sessionToken == "rel-token")
        #expect(credentials?.expiration == 1_893_456_000)
        let request = try #require(client.requests.first)
        #expect(request.url == "http://169.254.170.2/v2/credentials/task-1")
        #expect(request.header("Authorization") == "ecs-token")
        #expect(request.header("Accept") == "application/json")
    }

    @Test("invalidate() makes the next call fetch again")
    func invalidate() async throws {
        let client = CredentialsCannedHTTPClient(
            body: #"{"AccessKeyId":"ASIAREL","SecretAccessKey":"rel-secret","Token":"rel-token","Expiration":"2099-01-01T00:00:00Z"}"#)
        let chain = CredentialChain(providers: [
            ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:9/creds"], httpClient: client)
        ])
        _ = try await chain.credentials()
        _ = try await chain.credentials()
        #expect(client.requests.count == 1)
        chain.invalidate()
        _ = try await chain.credentials()
        #expect(client.requests.count == 2)
        #expect(chain.currentSource == "container")
        #expect(chain.expiresAt == 4_070_908_800)
    }

    @Test("RFC 3339 timestamps")
    func rfc3339() {
        #expect(RFC3339.parse("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.parse("2026-11-23T20:19:43Z") == 1_795_465_183)
        #expect(RFC3339.parse("2026-11-23T22:19:43+02:00") == 1_795_465_183)
        #expect(RFC3339.parse("2026-11-23t20:19:43z") == 1_795_465_183)
        #expect(RFC3339.parse("2026-11-22T21:19:47.5Z") == 1_795_382_387.5)
        #expect(RFC3339.parse("2024-02-29T00:00:00-00:30") == 1_709_166_600)
        for bad in ["", "2026-11-23", "2026-11-23T20:19:43", "2026-02-30T00:00:00Z", "2026-11-23T24:00:00Z",
                    "2026-11-23T20:19:43.Z", "2026-11-23T20:19:43Zjunk", "2026/11/23T20:19:43Z"] {
            #expect(RFC3339.parse(bad) == nil, "\(bad)")
        }
    }

    @Test("STS responses are read with AWSXML: credentials, entities, CDATA; no credentials → Unavailable")
    func stsResponse() throws {
        let response = """
            <?xml version="1.0"?>
            <AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <AssumeRoleResult>
                <Credentials>
                  <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
                  <SecretAccessKey>a&amp;b&lt;c&#x41;&#66;</SecretAccessKey>
                  <SessionToken><![CDATA[tok<en>]]></SessionToken>
                  <Expiration>2026-11-22T21:19:47Z</Expiration>
                </Credentials>
                <Empty/><Attr a="1>2" b='x'>v</Attr>
                <!-- a comment -->
              </AssumeRoleResult>
              <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>
            </AssumeRoleResponse>
            """
        let root = try AWSXML.parse(Array(response.utf8))
        let credentials = try STSClient.credentials(in: root, action: "AssumeRole")
        #expect(credentials.accessKeyId == "ASIAEXAMPLE")
        #expect(credentials.secretAccessKey == "a&b<cAB")
        #expect(credentials.sessionToken == "tok<en>")
        #expect(credentials.expiration == RFC3339.parse("2026-11-22T21:19:47Z"))

        let empty = try AWSXML.parse(
            "<AssumeRoleResponse><AssumeRoleResult/><ResponseMetadata><RequestId>r-2</RequestId></ResponseMetadata></AssumeRoleResponse>")
        do {
            _ = try STSClient.credentials(in: empty, action: "AssumeRole")
            Issue.record("a response without credentials was accepted")
        } catch {
            #expect(error.code == .unavailable)
            #expect(error.data["upstream"] == ["service": "sts", "httpStatus": 200, "requestId": "r-2"])
        }
        // The wrong action's result is not taken.
        #expect(throws: RolloutError.self) { try STSClient.credentials(in: root, action: "AssumeRoleWithWebIdentity") }
    }

    @Test("STS errors from AWSClient: identity-token codes → AccessDenied, invalid requests → ConfigInvalid, role named, secrets scrubbed")
    func stsErrorMapping() {
        func upstream(_ code: String, _ status: Int) -> JSONObject {
            ["upstream": ["service": "sts", "code": .string(code), "httpStatus": .number(JSONNumber(status)), "requestId": "r"]]
        }
        let role = "arn:aws:iam::1:role/r"
        let invalidToken = STSClient.credentialError(
            RolloutError(.invalidParams, "AWS rejected the request: InvalidIdentityToken: bad (STS AssumeRoleWithWebIdentity)",
                         data: upstream("InvalidIdentityToken", 400)),
            roleARN: role, secrets: [])
        #expect(invalidToken.code == .accessDenied)
        #expect(invalidToken.message.hasSuffix("(role \(role))"))
        #expect(invalidToken.data == upstream("InvalidIdentityToken", 400))
        let idp = STSClient.credentialError(
            RolloutError(.invalidParams, "x", data: upstream("IDPCommunicationError", 400)), roleARN: role, secrets: [])
        #expect(idp.code == .unavailable)
        let validation = STSClient.credentialError(
            RolloutError(.invalidParams, "AWS rejected the request: ValidationError: key-secret-1234 (STS AssumeRole)",
                         data: upstream("ValidationError", 400)),
            roleARN: role, secrets: ["key-secret-1234"])
        #expect(validation.code == .configInvalid)
        #expect(!validation.message.contains("key-secret-1234"))
        for code in [ErrorCode.accessDenied, .throttled, .unavailable] {
            #expect(STSClient.credentialError(RolloutError(code, "m"), roleARN: role, secrets: []).code == code)
        }
        #expect(STSClient.credentialError(.cancelled, roleARN: role, secrets: []) == .cancelled)
    }

    @Test("STS error messages are scrubbed of tokens and long echoed values")
    func redaction() {
        let token = "eyJhbGciOiJSUzI1NiJ9." + String(repeating: "x", count: 80)
        let scrubbed = SecretRedaction.scrub(
            "Value '\(token)' at 'webIdentityToken' failed; key my-secret-key\nnext", secrets: ["my-secret-key"])
        #expect(!scrubbed.contains(token))
        #expect(!scrubbed.contains("eyJhbGci"))
        #expect(!scrubbed.contains("my-secret-key"))
        #expect(scrubbed.contains("'webIdentityToken'"))
        #expect(!scrubbed.contains("\n"))

        // AWSServiceError cut the message (at 300 characters) inside the echoed token, or inside a secret.
        let cut = SecretRedaction.scrub("Value '\(token.prefix(30))… (HTTP 400, request id r)", secrets: [])
        #expect(!cut.contains("eyJhbGci"))
        #expect(cut.contains("(HTTP 400, request id r)"))
        let cutSecret = SecretRedaction.scrub("key my-secret-k… (HTTP 400)", secrets: ["my-secret-key"])
        #expect(!cutSecret.contains("my-secret"))
        #expect(cutSecret.contains("(HTTP 400)"))
    }

    @Test("a custom provider list: first non-nil wins, a configured failure stops the chain")
    func customProviders() async throws {
        struct Fixed: CredentialProvider {
            var source: String
            var result: AWSCredentials?
            var failure: RolloutError?
            func load() async throws -> AWSCredentials? {
                if let failure { throw failure }
                return result
            }
        }
        let chain = CredentialChain(providers: [
            Fixed(source: "none", result: nil),
            Fixed(source: "static", result: AWSCredentials(accessKeyId: "AKIDSTATIC", secretAccessKey: "s")),
            Fixed(source: "later", result: AWSCredentials(accessKeyId: "AKIDLATER", secretAccessKey: "s")),
        ])
        #expect(try await chain.credentials().accessKeyId == "AKIDSTATIC")
        #expect(chain.currentSource == "static")
        let failing = CredentialChain(providers: [
            Fixed(source: "broken", failure: RolloutError(.accessDenied, "denied")),
            Fixed(source: "static", result: AWSCredentials(accessKeyId: "AKIDSTATIC", secretAccessKey: "s")),
        ])
        #expect(await expectRolloutError { _ = try await failing.credentials() }?.code == .accessDenied)
    }
}
