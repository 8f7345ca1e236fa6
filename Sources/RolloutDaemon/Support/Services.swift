import RolloutCore
import RolloutEngine
import RolloutRPC
import ServiceLifecycle
import Synchronization

/// The capabilities of the active provider, plus what the handlers share: file roots, limits,
/// the lease keeper and per-capability health.
struct Services: Sendable {
    var provider: Configuration.Cloud.Provider
    var objects: (any ObjectStore)?
    var queue: (any MessageQueue)?
    var secrets: (any SecretStore)?
    var compute: any ComputeHintProvider
    var files: ClientFiles
    var leases: LeaseKeeper?
    /// Provider `aws` with a Lambda region; nil otherwise (rollout.* answers Unsupported).
    var rollouts: RolloutCoordinator?
    var health: HealthBoard
    var startedAt: ContinuousClock.Instant
    var version: String
    /// The OpenRPC document for `rpc.discover`, parsed on first use.
    var openRPCDocument: @Sendable () throws(RolloutError) -> JSONValue
    /// Where AWS credentials came from and when they expire, or why none can be had; nil for
    /// providers without credentials.
    var credentialStatus: @Sendable () async -> CredentialReport?
    /// Fleet mode (SPEC §11): `sys.health.capabilities.fleet`, the lease loop, and the gate that
    /// makes the keys of rollout.start/stop/promote fleet-wide. Nil without `[fleet]`.
    var fleet: FleetHooks?

    /// Inline `data`/`text` and inline `object.get` bodies stop at 8 MiB (SPEC §4.2).
    static let inlineLimit: Int64 = 8 * 1024 * 1024

    func require<C>(_ capability: C?, _ name: String) throws(RolloutError) -> C {
        guard let capability else {
            throw RolloutError.unsupported("\(name) is not available with provider \"\(provider.rawValue)\"")
        }
        return capability
    }
}

/// What fleet mode adds to the daemon, without the rest of it knowing the fleet's types.
struct FleetHooks: Sendable {
    /// `sys.health.capabilities.fleet`.
    var health: @Sendable () async -> Health.Fleet
    /// Renewals, commands and adoption, in the service group.
    var service: any Service
    /// The idempotency gate for the fleet's methods, over the state database's gate for the others.
    var gate: @Sendable (any IdempotencyGate) -> any IdempotencyGate
}

/// What `sys.health` says about AWS credentials.
struct CredentialReport: Sendable {
    /// The source of the credentials in use (`env`, `sso`, ...); nil while there are none.
    var source: String?
    /// When they expire, in seconds since the epoch; nil when they do not.
    var expiresAt: Double?
    /// The credential chain's error while no credentials can be had.
    var error: RolloutError?
}

/// Remembers the last outcome of each capability for `sys.health`.
final class HealthBoard: Sendable {
    enum Capability: String, CaseIterable {
        case objectStore, queue, secrets, compute, rollout

        /// Whether its calls are signed with AWS credentials (compute hints read IMDS unsigned).
        var needsCredentials: Bool { self != .compute }
    }

    private let lastErrors = Mutex<[String: String]>([:])
    private let credentialError = Mutex<RolloutError?>(nil)
    let details: [String: String]

    init(details: [Capability: String]) {
        self.details = Dictionary(uniqueKeysWithValues: details.map { ($0.key.rawValue, $0.value) })
    }

    /// Runs `body`, recording a recoverable failure (outage) or clearing it on success.
    func track<T>(_ capability: Capability, _ body: () async throws -> T) async throws -> T {
        do {
            let value = try await body()
            lastErrors.withLock { _ = $0.removeValue(forKey: capability.rawValue) }
            return value
        } catch let error as RolloutError {
            if error.code.kind == .recoverable, error.code != .requestCancelled, error.code != .deadlineExceeded {
                lastErrors.withLock { $0[capability.rawValue] = error.description }
            }
            throw error
        }
    }

    func lastError(_ capability: Capability) -> String? {
        lastErrors.withLock { $0[capability.rawValue] }
    }

    /// Records the credential chain's error as `sys.health` last saw it (nil: credentials are
    /// at hand). When an error clears, the capability errors that carried it (calls that failed
    /// for want of credentials, whatever context their capability added) clear with it, so
    /// health recovers by itself.
    func updateCredentialError(_ error: RolloutError?) {
        let previous = credentialError.withLock { current in
            defer { current = error }
            return current
        }
        guard let previous, previous != error else { return }
        lastErrors.withLock { $0 = $0.filter { !$0.value.contains(previous.message) } }
    }
}
