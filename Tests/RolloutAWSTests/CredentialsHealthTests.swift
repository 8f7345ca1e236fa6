import AWSSigV4
import RolloutCore
import Synchronization
import Testing
@testable import RolloutAWS

/// `CredentialChain.health()`, what `sys.health` reports: answered from the cache, failures
/// remembered for a second so probes do not hammer IMDS or STS, a bounded wait, recovery.
@Suite("Credentials: health probe")
struct CredentialsHealthTests {
    /// A provider whose outcome the test sets, counting its loads; while held, loads wait.
    final class Switchable: CredentialProvider {
        let source = "switchable"
        private let state = Mutex<(result: Result<AWSCredentials?, RolloutError>, loads: Int, held: Bool)>((.success(nil), 0, false))

        var loads: Int { state.withLock { $0.loads } }

        func set(_ result: Result<AWSCredentials?, RolloutError>, held: Bool = false) {
            state.withLock { $0.result = result; $0.held = held }
        }

        func release() {
            state.withLock { $0.held = false }
        }

        func load() async throws -> AWSCredentials? {
            state.withLock { $0.loads += 1 }
            while state.withLock({ $0.held }) { try await Task.sleep(for: .milliseconds(10)) }
            return try state.withLock { $0.result }.get()
        }
    }

    @Test("no credentials: the chain's error, looked up at most once per failureTTL; recovers by itself")
    func failureIsRememberedBriefly() async throws {
        let clock = CredentialsTestClock(1_000_000)
        let provider = Switchable()
        let chain = CredentialChain(providers: [provider], now: clock.function)
        guard case .unavailable(let error) = await chain.health() else {
            Issue.record("expected unavailable")
            return
        }
        #expect(error.code == .configInvalid)
        #expect(error.message.hasPrefix("no AWS credentials found; tried, in order: switchable"))
        for _ in 0..<20 { _ = await chain.health() }
        #expect(provider.loads == 1)

        provider.set(.success(AWSCredentials(accessKeyId: "AKIDLATER", secretAccessKey: "later-secret")))
        clock.set(1_000_000.5)
        #expect(await chain.health() == .unavailable(error))
        clock.set(1_000_001.1)
        #expect(await chain.health() == .available(source: "switchable", expiresAt: nil))
        #expect(provider.loads == 2)
        for _ in 0..<20 { _ = await chain.health() }
        #expect(provider.loads == 2)
    }

    @Test("a slow first look-up: pending after the wait, the answer once it ends")
    func slowLookup() async throws {
        let provider = Switchable()
        provider.set(.success(AWSCredentials(accessKeyId: "AKIDSLOW", secretAccessKey: "slow-secret")), held: true)
        let chain = CredentialChain(providers: [provider])
        #expect(await chain.health(wait: .milliseconds(100)) == .pending)
        provider.release()
        // The look-up went on, and is shared with the next caller.
        #expect(await chain.health(wait: .seconds(30)) == .available(source: "switchable", expiresAt: nil))
        #expect(provider.loads == 1)
    }

    @Test("a failed refresh while the cached credentials still have minutes left is healthy; once they are gone it is not")
    func failedRefreshKeepsCredentials() async throws {
        let start = 2_000_000.0
        let clock = CredentialsTestClock(start)
        let provider = Switchable()
        let expiring = AWSCredentials(accessKeyId: "AKIDEXP", secretAccessKey: "exp-secret", expiration: start + 600)
        provider.set(.success(expiring))
        let chain = CredentialChain(providers: [provider], now: clock.function)
        #expect(await chain.health() == .available(source: "switchable", expiresAt: start + 600))

        let outage = RolloutError(.unavailable, "the credential endpoint is down")
        provider.set(.failure(outage))
        clock.set(start + 400)
        #expect(await chain.health() == .available(source: "switchable", expiresAt: start + 600))
        #expect(await chain.health() == .available(source: "switchable", expiresAt: start + 600))
        clock.set(start + 590)
        #expect(await chain.health() == .unavailable(outage))
    }
}
