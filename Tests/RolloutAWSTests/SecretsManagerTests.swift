import AWSConfig
import CurlHTTP
import RolloutAWS
import RolloutCore
import Testing

/// Each test gets its own fault proxy in front of the shared moto server, so the proxy's
/// `/__stats` counts exactly the requests that test made.
struct SecretsManagerFixture {
    let moto: AWSTestMoto
    let proxy: AWSTestFaultProxy
    let clock = AWSTestManualClock()
    let sleeper: AWSTestSleepRecorder

    init(proxyArguments: [String] = [], sleeper: AWSTestSleepRecorder = AWSTestSleepRecorder(cap: .milliseconds(2))) async throws {
        moto = try await AWSTestMoto.get()
        proxy = try await AWSTestFaultProxy(target: moto.url, arguments: proxyArguments)
        self.sleeper = sleeper
    }

    func store(
        allowlist: [String], cacheTTLSecs: Int = 300, maxAttempts: Int = 3, environment: AWSClientEnvironment? = nil
    ) throws -> SecretsManagerStore {
        let client = try AWSClient(
            service: .secretsManager, endpointURL: proxy.url, region: "us-east-1", credentials: awsTestCredentials,
            http: CurlHTTPClient(), retryPolicy: .standard(maxAttempts: maxAttempts),
            environment: environment ?? sleeper.environment(jitter: 0.5, wallClock: 1_700_000_000)
        )
        return SecretsManagerStore(client: client, allowlist: allowlist, cacheTTLSecs: cacheTTLSecs, now: { clock.now() })
    }

    /// Seeds through moto directly (not through the proxy), so proxy counts stay ours.
    @discardableResult
    func seed(_ operations: [JSONValue]) async throws -> [String?] {
        try await awsTestSeedSecrets(endpoint: moto.url, operations)
    }
}

@Suite("SecretsManagerStore against moto (through the fault proxy)")
struct SecretsManagerTests {
    @Test("a string secret: value, version id, stages; not cached the first time")
    func stringSecret() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        let versionId = try await fixture.seed([["op": "create", "name": "sm/string", "string": "s3cr3t-string-value"]])[0]
        let store = try fixture.store(allowlist: ["sm/string"])
        let secret = try await store.get(name: "sm/string", versionStage: "AWSCURRENT", refresh: false)
        #expect(secret.name == "sm/string")
        #expect(secret.value == "s3cr3t-string-value" && secret.binary == nil)
        #expect(secret.versionId == versionId)
        #expect(secret.versionStages == ["AWSCURRENT"])
        #expect(!secret.cached && !secret.stale && secret.ageMs == 0)
        #expect(try await fixture.proxy.total() == 1)
    }

    @Test("a binary secret comes back as the same base64")
    func binarySecret() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        let base64 = "AAEC/f7/SGVsbG8="  // 00 01 02 fd fe ff "Hello"
        try await fixture.seed([["op": "create", "name": "sm/binary", "binaryBase64": .string(base64)]])
        let store = try fixture.store(allowlist: ["sm/binary"])
        let secret = try await store.get(name: "sm/binary", versionStage: "AWSCURRENT", refresh: false)
        #expect(secret.binary == base64 && secret.value == nil)
    }

    @Test("AWSPREVIOUS after put_secret_value; stages are cached separately")
    func previousVersion() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        let ids = try await fixture.seed([
            ["op": "create", "name": "sm/rotated", "string": "old-value"],
            ["op": "put", "name": "sm/rotated", "string": "new-value"],
        ])
        let store = try fixture.store(allowlist: ["sm/rotated"])
        let current = try await store.get(name: "sm/rotated", versionStage: "AWSCURRENT", refresh: false)
        let previous = try await store.get(name: "sm/rotated", versionStage: "AWSPREVIOUS", refresh: false)
        #expect(current.value == "new-value" && current.versionId == ids[1] && current.versionStages.contains("AWSCURRENT"))
        #expect(previous.value == "old-value" && previous.versionId == ids[0] && previous.versionStages == ["AWSPREVIOUS"])
        #expect(!current.cached && !previous.cached)
        #expect(try await fixture.proxy.total() == 2)
    }

    @Test("names not listed exactly are ConfigInvalid and never reach AWS")
    func allowlistRefusal() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "app/token", "string": "allowlisted-value"]])
        let store = try fixture.store(allowlist: ["app/token"])
        let refused = [
            "other/secret", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/token-AbCdEf", "App/Token", "APP/TOKEN", " app/token",
            "app/token ", "app/token\n", "\tapp/token", "app/tok", "app/", "app/token/", "app/token*", "", "app%2Ftoken",
        ]
        for name in refused {
            do {
                _ = try await store.get(name: name, versionStage: "AWSCURRENT", refresh: true)
                Issue.record("\(name.debugDescription) was served")
            } catch let error as RolloutError {
                #expect(error.code == .configInvalid, "\(name.debugDescription)")
                #expect(error.message.contains("[cloud.aws.secrets].allowlist"))
                #expect(!error.message.contains("allowlisted-value"))
            }
        }
        #expect(try await fixture.proxy.total() == 0, "no request reached the proxy")
        // The listed name itself works.
        #expect(try await store.get(name: "app/token", versionStage: "AWSCURRENT", refresh: false).value == "allowlisted-value")
        #expect(try await fixture.proxy.total() == 1)
    }

    @Test("Unicode look-alikes of a listed name (String == calls some equal) are ConfigInvalid and never reach AWS")
    func lookAlikesRefused() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "prod/API_KEY", "string": "allowlisted-value"]])
        let store = try fixture.store(allowlist: ["prod/API_KEY"])
        let lookAlikes = [
            "prod/API_\u{212A}EY",  // KELVIN SIGN: canonically equivalent to K
            "prod/API_\u{212A}EY ", "\u{FF50}\u{FF52}\u{FF4F}\u{FF44}/API_KEY",  // fullwidth "prod"
            "prod/API_KEY\u{A0}", "prod/API_KEY ", "prod/api_key", "PROD/API_KEY", "prod/API_KE\u{301}Y",
        ]
        #expect("prod/API_\u{212A}EY" == "prod/API_KEY", "the premise: Swift String equality is canonical equivalence")
        for name in lookAlikes {
            for refresh in [false, true] {
                let error = await #expect(throws: RolloutError.self, "\(name.debugDescription)") {
                    _ = try await store.get(name: name, versionStage: "AWSCURRENT", refresh: refresh)
                }
                #expect(error?.code == .configInvalid, "\(name.debugDescription)")
                #expect(error?.message.contains("[cloud.aws.secrets].allowlist") == true)
                #expect(error?.message.contains("allowlisted-value") == false)
            }
        }
        #expect(try await fixture.proxy.total() == 0, "no request reached the proxy")
        #expect(store.upstreamCallCount == 0)
        // A cached value of the listed name is not served under a look-alike either.
        #expect(try await store.get(name: "prod/API_KEY", versionStage: "AWSCURRENT", refresh: false).value == "allowlisted-value")
        await #expect(throws: RolloutError.self) {
            _ = try await store.get(name: "prod/API_\u{212A}EY", versionStage: "AWSCURRENT", refresh: false)
        }
        #expect(try await fixture.proxy.total() == 1)
    }

    @Test("cache: a second get is served from memory until the TTL passes; refresh bypasses it")
    func cacheHits() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "sm/cached", "string": "cached-value"]])
        let store = try fixture.store(allowlist: ["sm/cached"], cacheTTLSecs: 60)
        let first = try await store.get(name: "sm/cached", versionStage: "AWSCURRENT", refresh: false)
        #expect(!first.cached)
        fixture.clock.advance(.milliseconds(1500))
        let second = try await store.get(name: "sm/cached", versionStage: "AWSCURRENT", refresh: false)
        #expect(second.cached && !second.stale && second.ageMs == 1500 && second.value == "cached-value")
        #expect(second.versionId == first.versionId)
        #expect(try await fixture.proxy.total() == 1, "served from the cache")

        let refreshed = try await store.get(name: "sm/cached", versionStage: "AWSCURRENT", refresh: true)
        #expect(!refreshed.cached && refreshed.ageMs == 0)
        #expect(try await fixture.proxy.total() == 2)

        fixture.clock.advance(.seconds(59))
        #expect(try await store.get(name: "sm/cached", versionStage: "AWSCURRENT", refresh: false).cached)
        fixture.clock.advance(.seconds(1))
        #expect(!(try await store.get(name: "sm/cached", versionStage: "AWSCURRENT", refresh: false).cached), "expired at the TTL")
        #expect(try await fixture.proxy.total() == 3)
    }

    @Test("cache_ttl_secs = 0 disables the cache")
    func cacheDisabled() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "sm/nocache", "string": "v"]])
        let store = try fixture.store(allowlist: ["sm/nocache"], cacheTTLSecs: 0)
        for _ in 0..<3 {
            #expect(!(try await store.get(name: "sm/nocache", versionStage: "AWSCURRENT", refresh: false).cached))
        }
        #expect(try await fixture.proxy.total() == 3)
    }

    @Test("single flight: 20 concurrent misses make one upstream request", arguments: [false, true])
    func singleFlight(refresh: Bool) async throws {
        let fixture = try await SecretsManagerFixture(proxyArguments: ["--delay-ms", "400"])
        defer { fixture.proxy.stop() }
        let name = refresh ? "sm/flight-refresh" : "sm/flight"
        try await fixture.seed([["op": "create", "name": .string(name), "string": "flight-value"]])
        // TTL 0: nothing is cached, so only sharing the in-flight fetch can explain one request.
        let store = try fixture.store(allowlist: [name], cacheTTLSecs: 0)
        let values = try await withThrowingTaskGroup(of: SecretValue.self) { group in
            for _ in 0..<20 {
                group.addTask { try await store.get(name: name, versionStage: "AWSCURRENT", refresh: refresh) }
            }
            var values: [SecretValue] = []
            for try await value in group { values.append(value) }
            return values
        }
        #expect(values.count == 20 && values.allSatisfy { $0.value == "flight-value" && !$0.cached })
        let stats = try await fixture.proxy.stats()
        #expect(stats["byTarget"]?["secretsmanager.GetSecretValue"]?.int64Value == 1)
        #expect(store.upstreamCallCount == 1)
    }

    @Test("a cancelled waiter stops waiting; the shared fetch still fills the cache")
    func cancelledWaiter() async throws {
        let fixture = try await SecretsManagerFixture(proxyArguments: ["--delay-ms", "8000"])
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "sm/cancel", "string": "cancel-value"]])
        let store = try fixture.store(allowlist: ["sm/cancel"])
        let waiter = Task { try await store.get(name: "sm/cancel", versionStage: "AWSCURRENT", refresh: false) }
        let other = Task { try await store.get(name: "sm/cancel", versionStage: "AWSCURRENT", refresh: false) }
        try await Task.sleep(for: .milliseconds(200))
        waiter.cancel()
        await #expect(throws: RolloutError.cancelled) { try await waiter.value }
        // The proxy holds the one request for 8 s before forwarding it: nothing forwarded yet
        // means the cancelled caller returned without waiting for the fetch (no wall-clock bound).
        let forwarded = try await fixture.proxy.stats()["forwarded"]?.int64Value
        #expect(forwarded == 0, "the cancelled caller waited for the fetch")
        #expect(try await other.value.value == "cancel-value")
        #expect(try await store.get(name: "sm/cancel", versionStage: "AWSCURRENT", refresh: false).cached)
        #expect(try await fixture.proxy.total() == 1)
    }

    @Test("upstream unreachable after a value was cached: the cached value comes back stale")
    func staleOnFailure() async throws {
        let fixture = try await SecretsManagerFixture()
        try await fixture.seed([["op": "create", "name": "sm/stale", "string": "stale-value"]])
        let store = try fixture.store(allowlist: ["sm/stale"], cacheTTLSecs: 1)
        let fresh = try await store.get(name: "sm/stale", versionStage: "AWSCURRENT", refresh: false)
        #expect(!fresh.stale)
        fixture.proxy.stop()  // connections are now refused
        fixture.clock.advance(.seconds(5))
        let stale = try await store.get(name: "sm/stale", versionStage: "AWSCURRENT", refresh: false)
        #expect(stale.stale && stale.cached && stale.value == "stale-value" && stale.ageMs == 5000)
        #expect(stale.versionId == fresh.versionId)
        let forced = try await store.get(name: "sm/stale", versionStage: "AWSCURRENT", refresh: true)
        #expect(forced.stale, "refresh: true falls back too")
        // Another stage was never fetched: the failure itself comes through.
        do {
            _ = try await store.get(name: "sm/stale", versionStage: "AWSPREVIOUS", refresh: false)
            Issue.record("expected Unavailable")
        } catch let error as RolloutError {
            #expect(error.code == .unavailable && error.code.kind == .recoverable)
            #expect(error.upstream("service") == "secrets_manager")
        }
    }

    @Test("fatal failures are not masked by a cached value")
    func fatalNotStale() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "sm/deleted", "string": "gone-value"]])
        let store = try fixture.store(allowlist: ["sm/deleted"], cacheTTLSecs: 1)
        _ = try await store.get(name: "sm/deleted", versionStage: "AWSCURRENT", refresh: false)
        try await fixture.seed([["op": "delete", "name": "sm/deleted"]])
        fixture.clock.advance(.seconds(2))
        do {
            _ = try await store.get(name: "sm/deleted", versionStage: "AWSCURRENT", refresh: false)
            Issue.record("expected NotFound")
        } catch let error as RolloutError {
            #expect(error.code == .notFound)
        }
    }

    @Test("ResourceNotFoundException → NotFound with upstream details; values absent from errors")
    func notFoundAndNoValuesInErrors() async throws {
        let fixture = try await SecretsManagerFixture()
        defer { fixture.proxy.stop() }
        let value = "VALUE-THAT-MUST-NOT-LEAK-42"
        try await fixture.seed([["op": "create", "name": "sm/leak", "string": .string(value)]])
        let store = try fixture.store(allowlist: ["sm/missing", "sm/leak"])
        do {
            _ = try await store.get(name: "sm/missing", versionStage: "AWSCURRENT", refresh: false)
            Issue.record("expected NotFound")
        } catch let error as RolloutError {
            #expect(error.code == .notFound)
            #expect(error.message.contains("sm/missing"))
            #expect(error.upstream("service") == "secrets_manager")
            #expect(error.upstream("code") == "ResourceNotFoundException")
            #expect(error.upstream("httpStatus")?.int64Value != nil)
            #expect(error.upstream("requestId")?.stringValue?.isEmpty == false)
        }
        _ = try await store.get(name: "sm/leak", versionStage: "AWSCURRENT", refresh: false)
        var errors: [RolloutError] = []
        do {
            _ = try await store.get(name: "sm/leak", versionStage: "AWSPENDING", refresh: false)
        } catch let error as RolloutError {
            errors.append(error)
        }
        try await fixture.proxy.configure(["throttle": 1.0])
        do {
            _ = try await store.get(name: "sm/leak", versionStage: "NOSUCHSTAGE", refresh: true)
        } catch let error as RolloutError {
            errors.append(error)
        }
        #expect(errors.count == 2)
        for error in errors {
            let text = "\(error) \(error.wireData) \(String(reflecting: error))"
            #expect(!text.contains(value))
            #expect(!text.contains("test-secret-key"))
        }
    }
}

@Suite("Fault injection: retries through the fault proxy")
struct SecretsManagerFaultTests {
    @Test("30% throttling/SlowDown + 10% resets: 50 GetSecretValue calls all succeed")
    func faultyUpstream() async throws {
        let sleeper = AWSTestSleepRecorder(cap: .milliseconds(5))
        // 15% SlowDown 503 (XML) + 15% ThrottlingException 400 (JSON) + 10% resets; seeded.
        let fixture = try await SecretsManagerFixture(
            proxyArguments: ["--slowdown", "0.15", "--throttle", "0.15", "--reset", "0.1", "--seed", "7"], sleeper: sleeper
        )
        defer { fixture.proxy.stop() }
        try await fixture.seed([["op": "create", "name": "sm/faulty", "string": "survives-faults"]])
        // max_attempts at the config maximum (10): with 40% of attempts failing, three attempts
        // would leave 6.4% of calls failed; ten leave 0.01%.
        let store = try fixture.store(
            allowlist: ["sm/faulty"], cacheTTLSecs: 0, maxAttempts: 10,
            environment: sleeper.environment(jitter: 0.5)
        )
        for _ in 0..<50 {
            let secret = try await store.get(name: "sm/faulty", versionStage: "AWSCURRENT", refresh: false)
            #expect(secret.value == "survives-faults")
        }
        let stats = try await fixture.proxy.stats()
        let injected = try #require(stats["injected"])
        let slowdown = injected["slowdown"]?.int64Value ?? 0
        let throttle = injected["throttle"]?.int64Value ?? 0
        let reset = injected["reset"]?.int64Value ?? 0
        #expect(slowdown > 0 && throttle > 0 && reset > 0, "every fault kind was exercised: \(injected)")
        #expect(stats["forwarded"]?.int64Value == 50, "each call reached moto exactly once")
        #expect(stats["total"]?.int64Value == 50 + slowdown + throttle + reset)
        #expect(sleeper.sleeps.count == Int(slowdown + throttle + reset), "one backoff per failed attempt")
        // Throttling backoffs use the 1 s base, resets the 50 ms one; all within the 20 s cap.
        #expect(sleeper.sleeps.allSatisfy { $0 <= .seconds(20) })
        #expect(sleeper.sleeps.contains(.milliseconds(500)) && sleeper.sleeps.contains(.milliseconds(25)))
    }

    @Test("100% throttling: Throttled with retryAfterMs and data.upstream.code", arguments: ["throttle", "slowdown"])
    func alwaysThrottled(kind: String) async throws {
        let sleeper = AWSTestSleepRecorder(cap: .milliseconds(5))
        let fixture = try await SecretsManagerFixture(proxyArguments: ["--\(kind)", "1.0"], sleeper: sleeper)
        defer { fixture.proxy.stop() }
        let store = try fixture.store(allowlist: ["sm/throttled"], environment: sleeper.environment(jitter: 0.5))
        do {
            _ = try await store.get(name: "sm/throttled", versionStage: "AWSCURRENT", refresh: false)
            Issue.record("expected Throttled")
        } catch let error as RolloutError {
            #expect(error.code == .throttled && error.code.kind == .recoverable)
            #expect(error.wireData["reason"] == "Throttled")
            #expect(error.data["retryAfterMs"]?.int64Value == 4000, "the 1 s × 2² ceiling after three attempts")
            #expect(error.upstream("code")?.stringValue == (kind == "throttle" ? "ThrottlingException" : "SlowDown"))
            #expect(error.upstream("httpStatus")?.int64Value == (kind == "throttle" ? 400 : 503))
            #expect(error.upstream("requestId")?.stringValue?.hasPrefix("FAULT") == true)
            #expect(error.upstream("service") == "secrets_manager")
        }
        #expect(try await fixture.proxy.total() == 3, "max_attempts = 3")
        #expect(sleeper.sleeps == [.milliseconds(500), .seconds(1)])
    }

    @Test("x-amz-retry-after from the server lengthens the backoff")
    func retryAfterHeader() async throws {
        let sleeper = AWSTestSleepRecorder(cap: .milliseconds(5))
        let fixture = try await SecretsManagerFixture(proxyArguments: ["--throttle", "1.0", "--retry-after-ms", "2500"], sleeper: sleeper)
        defer { fixture.proxy.stop() }
        let store = try fixture.store(allowlist: ["sm/retry-after"], environment: sleeper.environment(jitter: 0.5))
        await #expect(throws: RolloutError.self) {
            _ = try await store.get(name: "sm/retry-after", versionStage: "AWSCURRENT", refresh: false)
        }
        #expect(sleeper.sleeps == [.milliseconds(2500), .milliseconds(2500)])
    }
}
