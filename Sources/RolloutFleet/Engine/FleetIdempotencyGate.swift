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
/// - The node running a call beats its record every lease/3. A call that finds the record
///   `started` elsewhere polls it until it is done, or until its deadline (then InProgress). A
///   record whose beat has not changed for `takeOverAfter` (one lease by default, on the
///   waiter's own clock: the Lock Client's rule, no clocks compared) lost its node during the
///   call and is taken over, conditional on that beat: the call runs again with
///   ``IdempotentCall/resuming`` set, which looks for the effect first.
/// - The call an operation sees (``IdempotentCall/current``) has `createdAt` 0, so every daemon
///   derives the same deployment id from the key.
public struct FleetIdempotencyGate: IdempotencyGate {
    /// The methods whose records are fleet-wide.
    public static let fleetMethods: Set<String> = ["rollout.start", "rollout.stop", "rollout.promote"]

    private let fleet: FleetStore
    private let local: any IdempotencyGate
    private let pollInterval: Duration
    private let takeOverAfter: Duration

    /// A gate over `fleet` for the rollout methods and `local` for the others.
    ///
    /// - Parameter takeOverAfter: how long a record may stay `started` under one token while a
    ///   caller waits before the caller takes it over (default: one lease; the running call
    ///   beats every lease/3).
    public init(fleet: FleetStore, local: any IdempotencyGate, pollInterval: Duration = .milliseconds(250), takeOverAfter: Duration? = nil) {
        self.fleet = fleet
        self.local = local
        self.pollInterval = pollInterval
        self.takeOverAfter = takeOverAfter ?? fleet.leaseDuration
    }

    /// See ``IdempotencyGate/run(method:key:params:deadline:operation:)``.
    public func run(
        method: String, key: String, params: JSONObject, deadline: ContinuousClock.Instant?,
        operation: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> (result: JSONValue, replayed: Bool) {
        guard Self.fleetMethods.contains(method) else {
            return try await local.run(method: method, key: key, params: params, deadline: deadline, operation: operation)
        }
        let digest = Self.digest(params)
        let fingerprint = digest.hexString
        let clock = ContinuousClock()
        /// The started record and beat seen, and since when (this node's clock).
        var waitingOn: (token: String, beat: String, since: ContinuousClock.Instant)?
        while true {
            switch try await fleet.beginIdempotent(method: method, key: key, fingerprint: fingerprint) {
            case .run(let token):
                return (try await execute(method: method, key: key, digest: digest, token: token, resuming: false, deadline: deadline, operation: operation), false)
            case .replay(let result):
                return (result, true)
            case .mismatch:
                throw RolloutError(.conflict, "idempotencyKey \"\(key)\" was used with other params for \(method)")
            case .inProgress(_, let token, let beat):
                if waitingOn?.token != token || waitingOn?.beat != beat { waitingOn = (token, beat, clock.now) }
                // No beat for a whole takeover period: its node died during the call. The call
                // runs again as a resumption, which looks for its effect first (a start finds
                // the deployment whose id it derives from the key).
                if let since = waitingOn?.since, clock.now - since >= takeOverAfter,
                    let mine = try await fleet.takeOverIdempotent(method: method, key: key, staleToken: token, staleBeat: beat)
                {
                    return (
                        try await execute(method: method, key: key, digest: digest, token: mine, resuming: true, deadline: deadline, operation: operation),
                        false
                    )
                }
                if let deadline, clock.now + pollInterval >= deadline {
                    throw RolloutError(.inProgress, "idempotencyKey \"\(key)\" is still executing elsewhere and did not finish in time")
                }
                try await Task.sleep(for: pollInterval)
            }
        }
    }

    /// Runs the call whose record carries `token`, to the end even when this caller stops
    /// waiting (deadline, closed connection), so that its record says what happened.
    private func execute(
        method: String, key: String, digest: [UInt8], token: String, resuming: Bool, deadline: ContinuousClock.Instant?,
        operation: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> JSONValue {
        let call = IdempotentCall(method: method, key: key, fingerprint: digest, createdAt: 0, expiresAt: 0, resuming: resuming)
        let fleet = fleet
        let beatInterval = fleet.leaseDuration / 3
        let execution = Task {
            // Beats while the call runs, so that waiters elsewhere know this node is alive.
            let beats = Task {
                while !Task.isCancelled {
                    try? await Task.sleep(for: beatInterval)
                    if Task.isCancelled { return }
                    guard (try? await fleet.beatIdempotent(method: method, key: key, token: token)) != false else { return }
                }
            }
            defer { beats.cancel() }
            do {
                let result = try await IdempotentCall.$current.withValue(call) { try await operation() }
                _ = try? await fleet.finishIdempotent(method: method, key: key, token: token, result: result)
                return result
            } catch {
                try? await fleet.abandonIdempotent(method: method, key: key, token: token)
                throw error
            }
        }
        return try await withDeadline(deadline) { try await execution.value }
    }

    /// SHA-256 of the canonical params; its hex form is the record's fingerprint.
    static func digest(_ params: JSONObject) -> [UInt8] {
        Digest.sha256(canonical(.object(params)).serialized())
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
