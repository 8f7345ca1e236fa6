public import RolloutCore
import RolloutCrypto

/// Fleet-wide idempotency (SPEC §11) for `rollout.start`, `rollout.stop` and `rollout.promote`:
/// their records live in the fleet table (``FleetStore/beginIdempotent(method:key:fingerprint:)``),
/// so the same key on another daemon replays the result with `replayed: true`. Every other
/// method goes to `local` (the state database's gate).
///
/// - The first call with a key anywhere writes a `started` record and runs, to the end even when
///   its caller stops waiting; it records its result, or drops the record when it failed (a retry then runs again: the failures of these
///   methods leave nothing to resolve, and a start's deployment id, derived from the key, is
///   found by the retry).
/// - A call that finds the record `started` elsewhere polls it until it is done, or until its
///   deadline (then InProgress).
/// - The call an operation sees (``IdempotentCall/current``) has `createdAt` 0, so every daemon
///   derives the same deployment id from the key.
public struct FleetIdempotencyGate: IdempotencyGate {
    /// The methods whose records are fleet-wide.
    public static let fleetMethods: Set<String> = ["rollout.start", "rollout.stop", "rollout.promote"]

    private let fleet: FleetStore
    private let local: any IdempotencyGate
    private let pollInterval: Duration

    /// A gate over `fleet` for the rollout methods and `local` for the others.
    public init(fleet: FleetStore, local: any IdempotencyGate, pollInterval: Duration = .milliseconds(250)) {
        self.fleet = fleet
        self.local = local
        self.pollInterval = pollInterval
    }

    /// See ``IdempotencyGate/run(method:key:params:deadline:operation:)``.
    public func run(
        method: String, key: String, params: JSONObject, deadline: ContinuousClock.Instant?,
        operation: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> (result: JSONValue, replayed: Bool) {
        guard Self.fleetMethods.contains(method) else {
            return try await local.run(method: method, key: key, params: params, deadline: deadline, operation: operation)
        }
        let digest = Digest.sha256(Self.canonical(.object(params)).serialized())
        let fingerprint = digest.hexString
        while true {
            switch try await fleet.beginIdempotent(method: method, key: key, fingerprint: fingerprint) {
            case .run(let token):
                let call = IdempotentCall(method: method, key: key, fingerprint: digest, createdAt: 0, expiresAt: 0, resuming: false)
                // The execution goes on when this caller stops waiting (deadline, closed
                // connection), so that its record says what happened for the retry.
                let fleet = fleet
                let execution = Task {
                    do {
                        let result = try await IdempotentCall.$current.withValue(call) { try await operation() }
                        _ = try? await fleet.finishIdempotent(method: method, key: key, token: token, result: result)
                        return result
                    } catch {
                        try? await fleet.abandonIdempotent(method: method, key: key, token: token)
                        throw error
                    }
                }
                return (try await withDeadline(deadline) { try await execution.value }, false)
            case .replay(let result):
                return (result, true)
            case .mismatch:
                throw RolloutError(.conflict, "idempotencyKey \"\(key)\" was used with other params for \(method)")
            case .inProgress:
                if let deadline, ContinuousClock.now + pollInterval >= deadline {
                    throw RolloutError(.inProgress, "idempotencyKey \"\(key)\" is still executing elsewhere and did not finish in time")
                }
                try await Task.sleep(for: pollInterval)
            }
        }
    }

    /// The params with keys sorted at every level: equal params, equal fingerprints.
    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var sorted = JSONObject()
            for key in object.keys.sorted() { sorted[key] = object[key].map(canonical) }
            return .object(sorted)
        case .array(let array):
            return .array(array.map(canonical))
        default:
            return value
        }
    }
}
