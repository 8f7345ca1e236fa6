import AWSConfig
public import CurlHTTP
public import RolloutCore
import Synchronization

/// The `aws` provider's SecretStore (SPEC §4.4): Secrets Manager `GetSecretValue`, read-only,
/// behind the exact-match allowlist `[cloud.aws.secrets].allowlist`, with a cache.
///
/// - The allowlist is checked before anything else: a name not listed byte for byte (ARNs,
///   case or whitespace variants, partial names, Unicode look-alikes and other normalisations)
///   is ConfigInvalid and no request is made.
/// - Values are cached per (name, version stage) for `cacheTTL` (zero disables the cache and
///   the stale fallback: nothing is kept in memory).
/// - One upstream fetch at a time per (name, stage): concurrent misses, and `refresh: true`
///   calls, share the fetch in flight. A caller that is cancelled stops waiting; the fetch
///   itself completes and fills the cache.
/// - When a fetch fails with a recoverable error (Throttled, Unavailable, ...) and a value was
///   fetched before (even if it expired), that value is returned with `stale: true`.
/// - Secret values never reach a log line or an error message.
public final class SecretsManagerStore: SecretStore {
    /// The Secrets Manager operation.
    static let getSecretValueTarget = "secretsmanager.GetSecretValue"
    /// The largest response accepted (secrets are at most 64 KiB, base64 grows binaries).
    static let responseLimit = 1 << 20

    /// Compared as bytes, like the allowlist: two names that differ only in Unicode
    /// normalisation are different secrets in AWS and must not share a cache entry.
    private struct CacheKey: Hashable {
        var name: ByteExactString
        var stage: ByteExactString
    }

    private struct Fetched: Sendable {
        var value: String?
        var binary: String?
        var versionId: String
        var versionStages: [String]
    }

    private struct Entry {
        var fetched: Fetched
        var fetchedAt: ContinuousClock.Instant
    }

    private typealias Waiter = CheckedContinuation<Result<Fetched, RolloutError>, Never>

    private struct State {
        var entries: [CacheKey: Entry] = [:]
        var flights: [CacheKey: [Int: Waiter]] = [:]
        var nextWaiterID = 0
        var upstreamCalls = 0
    }

    private let client: AWSClient
    private let allowlist: SecretAllowlist
    private let cacheTTL: Duration
    private let timeouts: HTTPTimeouts
    private let now: @Sendable () -> ContinuousClock.Instant
    private let state = Mutex(State())

    /// A store reading through `client` (a Secrets Manager client).
    ///
    /// - Parameters:
    ///   - allowlist: `[cloud.aws.secrets].allowlist`.
    ///   - cacheTTLSecs: `[cloud.aws.secrets].cache_ttl_secs`; 0 disables caching.
    ///   - timeouts: per attempt; a secret is small, so the default gives up on a stalled
    ///     attempt long before an RPC deadline would.
    ///   - now: the monotonic clock cache ages are measured with (tests pass a manual one).
    public init(
        client: AWSClient,
        allowlist: [String],
        cacheTTLSecs: Int,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(20), stall: .seconds(10)),
        now: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }
    ) {
        self.client = client
        self.allowlist = SecretAllowlist(allowlist, configKey: "[cloud.aws.secrets].allowlist")
        self.cacheTTL = .seconds(max(0, cacheTTLSecs))
        self.timeouts = timeouts
        self.now = now
    }

    /// Fetches started upstream so far (for tests and `sys.health` details).
    public var upstreamCallCount: Int {
        state.withLock { $0.upstreamCalls }
    }

    /// Returns the secret `name` at `versionStage` (SPEC §4.4).
    public func get(name: String, versionStage: String, refresh: Bool) async throws -> SecretValue {
        try await getSecret(name: name, versionStage: versionStage, refresh: refresh)
    }

    /// ``get(name:versionStage:refresh:)`` with its typed error.
    public func getSecret(name: String, versionStage: String, refresh: Bool) async throws(RolloutError) -> SecretValue {
        try allowlist.check(name)
        guard !versionStage.isEmpty else {
            throw .invalidParams("versionStage must be a non-empty version stage such as AWSCURRENT or AWSPREVIOUS")
        }
        let key = CacheKey(name: ByteExactString(name), stage: ByteExactString(versionStage))
        if !refresh, cacheTTL > .zero {
            let now = now()
            let hit: (Fetched, Duration)? = state.withLock { state in
                guard let entry = state.entries[key] else { return nil }
                let age = now - entry.fetchedAt
                return age < cacheTTL ? (entry.fetched, age) : nil
            }
            if let (fetched, age) = hit {
                return Self.secretValue(name: name, fetched, cached: true, age: age, stale: false)
            }
        }
        switch await sharedFetch(key) {
        case .success(let fetched):
            return Self.secretValue(name: name, fetched, cached: false, age: .zero, stale: false)
        case .failure(let error):
            if error.code.kind == .recoverable, error.code != .requestCancelled, cacheTTL > .zero {
                let now = now()
                let last: (Fetched, Duration)? = state.withLock { state in
                    state.entries[key].map { ($0.fetched, now - $0.fetchedAt) }
                }
                if let (fetched, age) = last {
                    return Self.secretValue(name: name, fetched, cached: true, age: age, stale: true)
                }
            }
            throw error
        }
    }

    // MARK: Single flight

    /// Joins the fetch in flight for `key`, or starts one.
    private func sharedFetch(_ key: CacheKey) async -> Result<Fetched, RolloutError> {
        let waiterID = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: Waiter) in
                let start: Bool = state.withLock { state in
                    // The cancellation handler takes the same lock, so either it already ran
                    // (and the task is marked cancelled) or it will find this waiter.
                    if Task.isCancelled {
                        continuation.resume(returning: .failure(.cancelled))
                        return false
                    }
                    if state.flights[key] != nil {
                        state.flights[key]![waiterID] = continuation
                        return false
                    }
                    state.flights[key] = [waiterID: continuation]
                    state.upstreamCalls += 1
                    return true
                }
                if start {
                    Task { await self.runFetch(key) }
                }
            }
        } onCancel: {
            let waiter = state.withLock { $0.flights[key]?.removeValue(forKey: waiterID) }
            waiter?.resume(returning: .failure(.cancelled))
        }
    }

    /// Fetches `key`, caches a success, and hands the outcome to every waiter.
    private func runFetch(_ key: CacheKey) async {
        let result: Result<Fetched, RolloutError>
        do {
            result = .success(try await fetch(key))
        } catch {
            result = .failure(error)
        }
        let fetchedAt = now()
        let waiters = state.withLock { state in
            if case .success(let fetched) = result, cacheTTL > .zero {
                state.entries[key] = Entry(fetched: fetched, fetchedAt: fetchedAt)
            }
            return state.flights.removeValue(forKey: key).map { Array($0.values) } ?? []
        }
        for waiter in waiters {
            waiter.resume(returning: result)
        }
    }

    /// `GetSecretValue {SecretId, VersionStage}`.
    private func fetch(_ key: CacheKey) async throws(RolloutError) -> Fetched {
        let response: JSONValue
        do {
            response = try await client.jsonCall(
                target: Self.getSecretValueTarget, jsonVersion: "1.1",
                body: ["SecretId": .string(key.name.string), "VersionStage": .string(key.stage.string)],
                timeouts: timeouts, responseLimit: Self.responseLimit
            )
        } catch {
            var error = error
            if error.code != .requestCancelled {
                error.message = "secret \"\(key.name)\" (\(key.stage)): \(error.message)"
            }
            throw error
        }
        let value = response["SecretString"]?.stringValue
        let binary = response["SecretBinary"]?.stringValue
        guard value != nil || binary != nil else {
            throw RolloutError(
                .unavailable,
                "secret \"\(key.name)\" (\(key.stage)): Secrets Manager returned neither SecretString nor SecretBinary",
                data: ["upstream": .object(["service": .string(AWSService.secretsManager.explainKey)])]
            )
        }
        return Fetched(
            value: value,
            binary: value == nil ? binary : nil,
            versionId: response["VersionId"]?.stringValue ?? "",
            versionStages: response["VersionStages"]?.arrayValue?.compactMap(\.stringValue) ?? [key.stage.string]
        )
    }

    private static func secretValue(name: String, _ fetched: Fetched, cached: Bool, age: Duration, stale: Bool) -> SecretValue {
        SecretValue(
            name: name, value: fetched.value, binary: fetched.binary, versionId: fetched.versionId,
            versionStages: fetched.versionStages, cached: cached, ageMs: SecretValue.milliseconds(age), stale: stale
        )
    }
}
