import AWSSigV4
import CurlHTTP
import RolloutCore
import Testing
@testable import RolloutAWS

/// Against the strict fake (tests/fixtures/credentials_fake_server.py): container credentials,
/// token-enforcing IMDSv2 (moto's IMDS neither requires nor expires tokens), STS errors moto
/// never returns (AccessDenied, 503), and refresh timing with an injected clock.
@Suite("Credentials against the strict fake server", .serialized)
struct CredentialsFakeServerTests {
    let server: CredentialsFakeServer

    init() async throws {
        server = try await CredentialsFakeServer()
    }

    // MARK: Container

    @Test("container: the Authorization token file is re-read on every refresh and wins over the variable")
    func containerTokenFile() async throws {
        let directory = CredentialsTempDirectory()
        let tokenFile = directory.write("eks-pod-identity-token", "pod-token-one")
        try await server.control(#"{"container_auth": "pod-token-one"}"#)
        let clock = CredentialsTestClock(CredentialsClock.now())
        let environment = credentialsIsolatedEnvironment(
            [
                "AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/container/v1/credentials",
                "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": tokenFile,
                "AWS_CONTAINER_AUTHORIZATION_TOKEN": "variable-token-loses",
            ], directory: directory)
        let chain = try credentialsChain(environment, clock: clock)
        let first = try await chain.credentials()
        #expect(first.accessKeyId == "ASIACONTAINER1")
        #expect(first.sessionToken == "container-session-token-1")
        #expect(chain.currentSource == "container")
        #expect(try await server.stats()["last_authorization"] == "pod-token-one")

        // The token rotates; the next refresh (an hour later) must send the new one.
        directory.write("eks-pod-identity-token", "pod-token-two")
        try await server.control(#"{"container_auth": "pod-token-two"}"#)
        clock.set(clock.now + 3600)
        let second = try await chain.credentials()
        #expect(second.accessKeyId == "ASIACONTAINER2")
        #expect(try await server.stats()["last_authorization"] == "pod-token-two")
        #expect(try await server.count("container_requests") == 2)
    }

    @Test("container: token from the variable, CR/LF refused, 403 is AccessDenied, 5xx retried")
    func containerErrors() async throws {
        let url = server.baseURL + "/container/creds"
        let client = CurlHTTPClient()
        try await server.control(#"{"container_auth": "static-token"}"#)
        let ok = try await ContainerCredentialProvider(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "static-token"],
            httpClient: client
        ).load()
        #expect(ok?.accessKeyId == "ASIACONTAINER1")
        #expect(ok?.expiration.map { abs($0 - CredentialsClock.now() - 3600) < 60 } == true)

        let directory = CredentialsTempDirectory()
        let badFile = directory.write("token", "secret-token-with-newline\n")
        let lineBreak = await expectRolloutError {
            _ = try await ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": badFile],
                httpClient: client
            ).load()
        }
        #expect(lineBreak?.code == .configInvalid)
        #expect(lineBreak?.message.contains("CR or LF") == true)
        if let lineBreak { expectNoSecrets(lineBreak, ["secret-token-with-newline"]) }
        let missingFile = await expectRolloutError {
            _ = try await ContainerCredentialProvider(
                environment: [
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI": url,
                    "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": directory.path + "/absent",
                ], httpClient: client
            ).load()
        }
        #expect(missingFile?.code == .configInvalid)
        #expect(try await server.count("container_requests") == 1)

        let denied = await expectRolloutError {
            _ = try await ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong-token-value"],
                httpClient: client
            ).load()
        }
        #expect(denied?.code == .accessDenied)
        #expect(denied?.data["upstream"]?["httpStatus"] == 403)
        if let denied { expectNoSecrets(denied, ["wrong-token-value", "static-token"]) }

        // Two 500s, then success: 3 attempts.
        try await server.control(#"{"reset": true, "container_failures": 2, "container_status": 500}"#)
        let retried = try await ContainerCredentialProvider(
            environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "static-token"],
            httpClient: client
        ).load()
        #expect(retried?.accessKeyId == "ASIACONTAINER3")
        #expect(try await server.count("container_requests") == 3)
        // Three 503s: Unavailable after exactly 3 attempts.
        try await server.control(#"{"reset": true, "container_failures": 3, "container_status": 503}"#)
        let unavailable = await expectRolloutError {
            _ = try await ContainerCredentialProvider(
                environment: ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url, "AWS_CONTAINER_AUTHORIZATION_TOKEN": "static-token"],
                httpClient: client
            ).load()
        }
        #expect(unavailable?.code == .unavailable)
        #expect(try await server.count("container_requests") == 3)
    }

    // MARK: Refresh

    @Test("refresh before expiry: 10 min left is served from cache, 4 min left refreshes; 20 concurrent callers share one fetch")
    func refreshBeforeExpiry() async throws {
        let start = CredentialsClock.now().rounded(.down)
        let clock = CredentialsTestClock(start)
        try await server.control(#"{"container_expiration": \#(start + 600)}"#)
        let directory = CredentialsTempDirectory()
        let environment = credentialsIsolatedEnvironment(
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI": server.baseURL + "/container/creds"], directory: directory)
        let chain = try credentialsChain(environment, clock: clock)

        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER1")
        #expect(chain.expiresAt == start + 600)
        #expect(try await server.count("container_requests") == 1)

        // 10 minutes, then 6 minutes left: cached.
        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER1")
        clock.set(start + 240)
        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER1")
        #expect(try await server.count("container_requests") == 1)

        // 4 minutes left: refreshed.
        try await server.control(#"{"container_expiration": \#(start + 3600)}"#)
        clock.set(start + 360)
        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER2")
        #expect(chain.expiresAt == start + 3600)
        #expect(try await server.count("container_requests") == 2)
        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER2")
        #expect(try await server.count("container_requests") == 2)

        // 20 concurrent callers while a (slow) refresh runs: one upstream request.
        try await server.control(#"{"container_expiration": \#(start + 7200), "container_delay": 0.5}"#)
        clock.set(start + 3600 - 200)
        let keys = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<20 {
                group.addTask { try await chain.credentials().accessKeyId }
            }
            return try await group.reduce(into: [String]()) { $0.append($1) }
        }
        #expect(keys == Array(repeating: "ASIACONTAINER3", count: 20))
        #expect(try await server.count("container_requests") == 3)
        #expect(chain.currentSource == "container")
        #expect(chain.expiresAt == start + 7200)

        // A failed refresh while the old credentials still have minutes left serves them.
        try await server.control(#"{"container_delay": 0, "container_failures": 3, "container_status": 503}"#)
        clock.set(start + 7200 - 200)
        #expect(try await chain.credentials().accessKeyId == "ASIACONTAINER3")
        // ... but not once they are about to expire.
        try await server.control(#"{"container_failures": 3}"#)
        clock.set(start + 7200 - 30)
        #expect(await expectRolloutError { _ = try await chain.credentials() }?.code == .unavailable)
    }

    // MARK: IMDS (strict)

    @Test("IMDSv2: token PUT with TTL 21600, token on every GET, never a token-less GET, token reused")
    func imdsToken() async throws {
        let provider = IMDSCredentialProvider(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL], httpClient: CurlHTTPClient())
        let first = try #require(try await provider.load())
        #expect(first.accessKeyId.hasPrefix("ASIAIMDSFAKE"))
        #expect(first.sessionToken?.hasPrefix("imds-fake-session-token-") == true)
        #expect(first.expiration.map { $0 > CredentialsClock.now() } == true)
        _ = try await provider.load()
        let stats = try await server.stats()
        #expect(stats["imds_token_puts"] == 1)
        #expect(stats["last_ttl_header"] == "21600")
        #expect(stats["imds_gets"] == 4)
        #expect(stats["tokenless_gets"] == 0)
    }

    @Test("IMDSv2: a 401 (token expired server-side) refetches the token once")
    func imds401() async throws {
        let session = IMDSSession(endpoint: server.baseURL, httpClient: CurlHTTPClient())
        #expect(try await session.get("/latest/meta-data/instance-id").status == 200)
        try await server.control(#"{"expire_imds_tokens": true}"#)
        let again = try await session.get("/latest/meta-data/instance-id")
        #expect(again.status == 200)
        #expect(String(decoding: again.body, as: UTF8.self) == "i-0123456789abcdef0")
        var stats = try await server.stats()
        #expect(stats["imds_token_puts"] == 2)
        #expect(stats["imds_401"] == 1)
        #expect(stats["tokenless_gets"] == 0)

        // Tokens that die at once: one refetch only, then the 401 is returned.
        try await server.control(#"{"reset": true, "imds_token_lifetime": 0}"#)
        let fresh = IMDSSession(endpoint: server.baseURL, httpClient: CurlHTTPClient())
        #expect(try await fresh.get("/latest/meta-data/instance-id").status == 401)
        stats = try await server.stats()
        #expect(stats["imds_token_puts"] == 2)
        #expect(stats["imds_gets"] == 2)
        #expect(stats["tokenless_gets"] == 0)
        let provider = IMDSCredentialProvider(session: fresh)
        #expect(await expectRolloutError { _ = try await provider.load() }?.code == .unavailable)
    }

    @Test("IMDSv2: the token is renewed 60 s before its TTL ends (injected clock); concurrent gets share one PUT")
    func imdsTokenLifetime() async throws {
        let clock = CredentialsTestClock(1_000_000)
        let session = IMDSSession(endpoint: server.baseURL, tokenTTLSeconds: 600, httpClient: CurlHTTPClient(), now: clock.function)
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<10 {
                group.addTask { try await session.get("/latest/meta-data/instance-id").status }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses == Array(repeating: 200, count: 10))
        #expect(try await server.count("imds_token_puts") == 1)
        clock.set(1_000_000 + 539)
        _ = try await session.get("/latest/meta-data/instance-id")
        #expect(try await server.count("imds_token_puts") == 1)
        clock.set(1_000_000 + 541)
        _ = try await session.get("/latest/meta-data/instance-id")
        #expect(try await server.count("imds_token_puts") == 2)
        #expect(try await server.count("tokenless_gets") == 0)
    }

    @Test("IMDS: unreachable or disabled is not configured (nil)")
    func imdsAbsent() async throws {
        let unreachable = IMDSCredentialProvider(
            environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT": "http://127.0.0.1:1"], httpClient: CurlHTTPClient())
        #expect(try await unreachable.load() == nil)
        let disabled = IMDSCredentialProvider(
            environment: ["AWS_EC2_METADATA_DISABLED": "true", "AWS_EC2_METADATA_SERVICE_ENDPOINT": server.baseURL],
            httpClient: CurlHTTPClient())
        #expect(disabled.session == nil)
        #expect(try await disabled.load() == nil)
        #expect(try await server.count("imds_token_puts") == 0)
        #expect(IMDSSession.endpoint(environment: [:]) == "http://169.254.169.254")
        #expect(IMDSSession.endpoint(environment: ["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv6"]) == "http://[fd00:ec2::254]")
    }

    // MARK: STS errors

    @Test("STS AccessDenied → AccessDenied with data.upstream; the echoed token never reaches the message")
    func stsAccessDenied() async throws {
        let directory = CredentialsTempDirectory()
        let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6IjEifQ." + String(repeating: "p", count: 120) + ".signature-part"
        let tokenFile = directory.write("token", token)
        let environment = credentialsIsolatedEnvironment(
            ["AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile, "AWS_ROLE_ARN": "arn:aws:iam::123456789012:role/denied"],
            directory: directory)
        let chain = try credentialsChain(environment, sts: server.baseURL + "/sts")
        let error = await expectRolloutError { _ = try await chain.credentials() }
        #expect(error?.code == .accessDenied)
        #expect(error?.code.kind == .fatal)
        #expect(error?.message.contains("AssumeRoleWithWebIdentity") == true)
        #expect(error?.message.contains("arn:aws:iam::123456789012:role/denied") == true)
        #expect(error?.message.contains("Not authorized") == true)
        let upstream = error?.data["upstream"]
        #expect(upstream == ["service": "sts", "code": "AccessDenied", "httpStatus": 403, "requestId": "fake-request-id-1"])
        if let error { expectNoSecrets(error, [token, String(token.prefix(20)), "signature-part"]) }
        #expect(try await server.count("sts_requests") == 1)
        #expect(chain.currentSource == nil)
    }

    @Test("STS 503 → Unavailable after 3 attempts; throttling → Throttled; no STS at all → Unavailable")
    func stsUnavailable() async throws {
        let sts = STSClient(endpoint: STSEndpoint(url: server.baseURL + "/sts", region: "us-east-1"), httpClient: CurlHTTPClient())
        try await server.control(#"{"sts_status": 503, "sts_code": "ServiceUnavailable"}"#)
        let unavailable = await expectRolloutError {
            _ = try await sts.assumeRoleWithWebIdentity(roleARN: "arn:aws:iam::1:role/r", sessionName: "s", webIdentityToken: "t0ken-value")
        }
        #expect(unavailable?.code == .unavailable)
        #expect(unavailable?.data["upstream"]?["httpStatus"] == 503)
        #expect(try await server.count("sts_requests") == 3)

        try await server.control(#"{"reset": true, "sts_status": 400, "sts_code": "Throttling"}"#)
        let throttled = await expectRolloutError {
            _ = try await sts.assumeRole(
                roleARN: "arn:aws:iam::1:role/r", sessionName: "s",
                credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "throttle-secret"))
        }
        #expect(throttled?.code == .throttled)
        #expect(throttled?.data["upstream"]?["code"] == "Throttling")
        #expect(throttled?.data["retryAfterMs"] != nil)
        #expect(try await server.count("sts_requests") == 3)
        if let throttled { expectNoSecrets(throttled, ["throttle-secret"]) }

        let nowhere = STSClient(endpoint: STSEndpoint(url: "http://127.0.0.1:1", region: "us-east-1"), httpClient: CurlHTTPClient())
        let network = await expectRolloutError {
            _ = try await nowhere.assumeRoleWithWebIdentity(roleARN: "arn:aws:iam::1:role/r", sessionName: "s", webIdentityToken: "t0ken-value")
        }
        #expect(network?.code == .unavailable)
        #expect(network?.data["upstream"]?["service"] == "sts")
        if let network { expectNoSecrets(network, ["t0ken-value"]) }
    }
}
