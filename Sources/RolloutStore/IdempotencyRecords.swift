public import RolloutCore
import RolloutSystem
import RolloutCrypto
import Synchronization

/// SPEC §3.2 on top of the `idempotency` table: records keyed by (method, key) holding a
/// SHA-256 fingerprint of the other params and the outcome, for `ttl`.
///
/// - Concurrent calls with one key inside this daemon share one in-memory ``Flight``, so N
///   concurrent calls produce exactly one execution. The execution goes on while at least one
///   caller still waits for it; a caller whose connection closes (or whose deadline passes) just
///   stops waiting, and the execution is cancelled only when no caller is left.
/// - Before the operation runs, its record is written "started" (fingerprint, no outcome), and
///   the operation sees it as ``IdempotentCall/current``. A provider whose effect commits in this
///   database finishes the record in the effect's own transaction
///   (``FinishRecord``); otherwise the outcome is recorded when the
///   operation returns. A started record found by a later call, with no flight for it in this
///   process, was left by a daemon that died: the operation runs again with
///   ``IdempotentCall/resuming`` set, and resolves from its service whether the effect happened.
/// - Recoverable failures are not recorded, so the caller may retry with the same key; fatal
///   failures and results are, and survive restarts. The started record stays: a timeout or a
///   lost connection does not say whether the effect happened (the request may still be on its
///   way to the service), so the retry resumes and resolves that from the service, as after a
///   crash.
public final class IdempotencyRecords: IdempotencyGate {
    private struct FlightKey: Hashable {
        var method: String
        var key: String
    }

    private let store: StateStore
    private let ttlSeconds: Double
    private let flights = Mutex<[FlightKey: Flight]>([:])

    /// Creates the gate over `store`, keeping records for `ttlSeconds`.
    public init(store: StateStore, ttlSeconds: Int) {
        self.store = store
        self.ttlSeconds = Double(ttlSeconds)
    }

    /// The fingerprint of a params object: SHA-256 of its canonical JSON (keys sorted at every level).
    public static func fingerprint(_ params: JSONObject) -> [UInt8] {
        Digest.sha256(canonical(.object(params)).serialized())
    }

    static func canonical(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var sorted = JSONObject()
            for key in object.keys.sorted() {
                sorted[key] = object[key].map(canonical)
            }
            return .object(sorted)
        case .array(let array):
            return .array(array.map(canonical))
        default:
            return value
        }
    }

    /// See ``IdempotencyGate/run(method:key:params:deadline:operation:)``.
    public func run(
        method: String, key: String, params: JSONObject, deadline: ContinuousClock.Instant?,
        operation: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> (result: JSONValue, replayed: Bool) {
        let flightKey = FlightKey(method: method, key: key)
        let fingerprint = Self.fingerprint(params)
        enum Role {
            case leader(Flight)
            case follower(Flight, Flight.Ticket)
            /// Everyone left that flight and it was cancelled, but it has not ended yet.
            case ending(Flight, Flight.Ticket)
            case conflict
        }
        while true {
            let role: Role = flights.withLock { flights in
                if let flight = flights[flightKey] {
                    guard flight.fingerprint == fingerprint else { return .conflict }
                    if let ticket = flight.join() { return .follower(flight, ticket) }
                    return .ending(flight, flight.watch())
                }
                let flight = Flight(fingerprint: fingerprint)
                flights[flightKey] = flight
                flight.start(Task { await self.fly(flight, flightKey, operation: operation) })
                return .leader(flight)
            }
            switch role {
            case .conflict:
                throw Self.conflict(method: method, key: key)
            case .leader(let flight):
                let outcome = try await Self.wait(for: flight, ticket: Flight.founder, deadline: deadline)
                return (try outcome.result.get(), outcome.fromRecord)
            case .follower(let flight, let ticket):
                let outcome = try await Self.inProgressOnDeadline(key: key) {
                    try await Self.wait(for: flight, ticket: ticket, deadline: deadline)
                }
                return (try outcome.result.get(), true)
            case .ending(let flight, let ticket):
                // Its end may have committed the effect (then its record is replayed) or not
                // (then this call runs it anew): look again once it has ended.
                _ = try await Self.inProgressOnDeadline(key: key) {
                    try await Self.wait(for: flight, ticket: ticket, deadline: deadline)
                }
            }
        }
    }

    /// Waits for `flight`'s outcome until `deadline` (DeadlineExceeded); a cancelled caller stops
    /// waiting at once (RequestCancelled) and leaves the flight to the others.
    private static func wait(for flight: Flight, ticket: Flight.Ticket, deadline: ContinuousClock.Instant?) async throws -> Outcome {
        let outcome = try await withDeadline(deadline) { await flight.outcome(for: ticket) }
        guard let outcome else { throw RolloutError.cancelled }
        return outcome
    }

    private static func inProgressOnDeadline<T>(key: String, _ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RolloutError where error.code == .deadlineExceeded {
            throw RolloutError(.inProgress, "idempotencyKey \"\(key)\" is still executing elsewhere and did not finish in time")
        }
    }

    /// The body of a flight's task: runs the call, then hands the outcome to every waiter.
    private func fly(_ flight: Flight, _ flightKey: FlightKey, operation: @escaping @Sendable () async throws -> JSONValue) async {
        let outcome = await lead(flightKey, fingerprint: flight.fingerprint, operation: operation)
        // Removed before the waiters wake, so a caller that waited for a cancelled flight to end
        // finds it gone when it looks again.
        flights.withLock { flights in
            if flights[flightKey] === flight { flights.removeValue(forKey: flightKey) }
        }
        flight.land(outcome)
    }

    private func lead(
        _ flightKey: FlightKey, fingerprint: [UInt8], operation: @escaping @Sendable () async throws -> JSONValue
    ) async -> Outcome {
        let call: IdempotentCall
        do {
            switch try await claim(flightKey, fingerprint: fingerprint) {
            case .finished(let outcome): return Outcome(result: outcome, fromRecord: true)
            case .conflict: return Outcome(result: .failure(Self.conflict(method: flightKey.method, key: flightKey.key)), fromRecord: true)
            case .started(let started): call = started
            }
        } catch is CancellationError {
            return Outcome(result: .failure(.cancelled), fromRecord: false)
        } catch {
            return Outcome(result: .failure(.internalError("idempotency store unavailable")), fromRecord: false)
        }
        let result: Result<JSONValue, RolloutError>
        do {
            result = .success(try await IdempotentCall.$current.withValue(call) { try await operation() })
        } catch let error as RolloutError {
            result = .failure(error)
        } catch is CancellationError {
            result = .failure(.cancelled)
        } catch {
            result = .failure(.internalError("internal error"))
        }
        do {
            // In a task of its own: the store refuses work in a cancelled task, and the record must
            // say what happened even when every waiter has gone.
            return try await Task { try await self.settle(call, result) }.value
        } catch {
            // The operation's outcome stands; its record may be missing or still "started", which
            // a retry resolves as after a crash.
            return Outcome(result: result, fromRecord: false)
        }
    }

    // MARK: - Records

    private enum Claim: Sendable {
        case finished(Result<JSONValue, RolloutError>)
        case conflict
        case started(IdempotentCall)
    }

    /// Reads the record of (method, key); when there is none (or it expired), writes it
    /// "started", in the same transaction.
    private func claim(_ flightKey: FlightKey, fingerprint: [UInt8]) async throws -> Claim {
        let now = WallClock.seconds()
        let expires = now + ttlSeconds
        return try await store.write { db -> Claim in
            let row = try db.row(
                """
                    SELECT fingerprint, outcome, created_at, expires_at FROM idempotency
                    WHERE method = ? AND key = ? AND expires_at > ?
                    """,
                [flightKey.method, flightKey.key, now]
            )
            if let row {
                let stored: [UInt8] = try row["fingerprint"]
                guard stored == fingerprint else { return .conflict }
                if let text: String = try row["outcome"] {
                    return .finished(try Self.decode(text))
                }
                // Started, and this daemon has no flight for it (the caller holds the flight):
                // the daemon that started it died.
                return .started(
                    IdempotentCall(
                        method: flightKey.method, key: flightKey.key, fingerprint: fingerprint, createdAt: try row["created_at"],
                        expiresAt: try row["expires_at"], resuming: true
                    )
                )
            }
            try db.execute(
                """
                    INSERT OR REPLACE INTO idempotency (method, key, fingerprint, outcome, created_at, expires_at)
                    VALUES (?, ?, ?, NULL, ?, ?)
                    """,
                [flightKey.method, flightKey.key, fingerprint, now, expires]
            )
            return .started(
                IdempotentCall(
                    method: flightKey.method, key: flightKey.key, fingerprint: fingerprint, createdAt: now, expiresAt: expires,
                    resuming: false
                )
            )
        }
    }

    /// Records the operation's outcome, unless the operation finished the record itself (its
    /// effect committed with it: that record is the truth, also when the operation then failed).
    /// A recoverable failure leaves the record started (the effect is unknown: the retry resumes).
    private func settle(_ call: IdempotentCall, _ result: Result<JSONValue, RolloutError>) async throws -> Outcome {
        try await store.write { db -> Outcome in
            if let text = try db.value(
                "SELECT outcome FROM idempotency WHERE method = ? AND key = ? AND outcome IS NOT NULL", [call.method, call.key],
                as: String.self
            ) {
                if case .success = result { return Outcome(result: result, fromRecord: false) }
                return Outcome(result: try Self.decode(text), fromRecord: false)
            }
            if case .failure(let error) = result, error.code.kind == .recoverable {
                // Not recorded; the started record tells the retry to resolve the effect.
            } else {
                try Self.finish(call, outcome: result, in: db)
            }
            return Outcome(result: result, fromRecord: false)
        }
    }

    /// Writes `outcome` into the record of `call`, inserting it when it is gone; throws when the
    /// record already holds an outcome (the call's effect happened already: the caller's
    /// transaction must not commit a second one).
    static func finish(_ call: IdempotentCall, outcome: Result<JSONValue, RolloutError>, in db: Connection) throws {
        try db.execute(
            """
                INSERT INTO idempotency (method, key, fingerprint, outcome, created_at, expires_at)
                VALUES (?, ?, ?, ?, ?, ?)
                ON CONFLICT (method, key) DO UPDATE SET outcome = excluded.outcome WHERE idempotency.outcome IS NULL
                """,
            [call.method, call.key, call.fingerprint, encode(outcome), call.createdAt, call.expiresAt]
        )
        guard db.changes > 0 else {
            throw RolloutError.internalError("idempotencyKey \"\(call.key)\" of \(call.method) already has an outcome")
        }
    }

    private static func encode(_ outcome: Result<JSONValue, RolloutError>) -> String {
        switch outcome {
        case .success(let value):
            return JSONValue.object(["result": value]).jsonString
        case .failure(let error):
            return JSONValue.object([
                "error": .object([
                    "code": .number(JSONNumber(error.code.rawValue)), "message": .string(error.message),
                    "data": .object(error.data),
                ])
            ]).jsonString
        }
    }

    private static func decode(_ text: String) throws -> Result<JSONValue, RolloutError> {
        let json = try JSONParser.parse(text)
        if let result = json["result"] {
            return .success(result)
        }
        let error = json["error"]
        let code = ErrorCode(rawValue: Int(error?["code"]?.int64Value ?? Int64(ErrorCode.internalError.rawValue)))
        var data = error?["data"]?.objectValue ?? [:]
        data.removeValue(forKey: "kind")
        data.removeValue(forKey: "reason")
        let message = error?["message"]?.stringValue ?? code.reason
        return .failure(RolloutError(code, message, data: data))
    }

    /// How many callers wait for the running execution of (method, key); nil when none runs.
    func waiters(method: String, key: String) -> Int? {
        flights.withLock { $0[FlightKey(method: method, key: key)]?.memberCount }
    }

    /// What a record holds.
    public enum StoredRecord: Sendable, Hashable {
        /// Written before the operation ran; no outcome yet.
        case started
        /// The outcome, as stored: `{"result": ...}` or `{"error": {...}}`.
        case finished(JSONValue)
    }

    /// The record of (method, key), expired or not; nil when there is none. For inspection
    /// (tests, diagnostics): ``run(method:key:params:deadline:operation:)`` is how calls use it.
    public func storedRecord(method: String, key: String) async throws -> StoredRecord? {
        let text: String?? = try await store.read("read an idempotency record") { db in
            try db.row("SELECT outcome FROM idempotency WHERE method = ? AND key = ?", [method, key])
                .map { row throws -> String? in try row["outcome"] }
        }
        guard let text else { return nil }
        guard let text else { return .started }
        return .finished(try JSONParser.parse(text))
    }

    /// Deletes expired records; returns how many.
    @discardableResult
    public func collectGarbage() async throws -> Int {
        let now = WallClock.seconds()
        return try await store.write { db in
            try db.execute("DELETE FROM idempotency WHERE expires_at <= ?", [now])
            return db.changes
        }
    }

    private static func conflict(method: String, key: String) -> RolloutError {
        RolloutError(
            .conflict,
            "idempotencyKey \"\(key)\" was already used for \(method) with different params; use a new key"
        )
    }
}

extension FinishRecord {
    /// Finishes the call's started record with the result of `output` inside the caller's
    /// transaction `db`: the effect and its record commit together, or neither does.
    ///
    /// - Throws: when the record already holds an outcome (another execution of the call
    ///   committed its effect; `db`'s transaction must roll back), or on SQLite errors.
    func finish(with output: Output, in db: Connection) throws {
        try IdempotencyRecords.finish(call, outcome: .success(result(output)), in: db)
    }
}

/// How one execution of a keyed call ended, as its waiters see it.
struct Outcome: Sendable {
    var result: Result<JSONValue, RolloutError>
    /// True when the outcome came from a stored record rather than running the operation.
    var fromRecord: Bool
}

/// One execution of (method, key), shared by every caller waiting for its outcome.
///
/// It runs while at least one member still waits; a member that stops waiting (cancelled, or
/// past its deadline) leaves, and when the last one leaves the execution is cancelled and the
/// flight is abandoned: later callers watch it end (without keeping it alive) and start over.
final class Flight: Sendable {
    typealias Ticket = UInt64

    /// The ticket of the caller that created the flight; a member from the start.
    static let founder: Ticket = 0

    /// The fingerprint of the params it runs with.
    let fingerprint: [UInt8]
    private let state = Mutex(State())

    private struct State {
        /// Tickets of the callers who want the outcome.
        var members: Set<Ticket> = [Flight.founder]
        var waiting: [Ticket: CheckedContinuation<Outcome?, Never>] = [:]
        /// Tickets that left before they started waiting.
        var left: Set<Ticket> = []
        var nextTicket: Ticket = Flight.founder + 1
        var outcome: Outcome?
        var task: Task<Void, Never>?
        var abandoned = false
    }

    init(fingerprint: [UInt8]) {
        self.fingerprint = fingerprint
    }

    /// Attaches the task that executes the call.
    func start(_ task: Task<Void, Never>) {
        let abandoned = state.withLock { state in
            state.task = task
            return state.abandoned
        }
        if abandoned { task.cancel() }
    }

    /// The callers that still want the outcome.
    var memberCount: Int {
        state.withLock { $0.members.count }
    }

    /// A new member, or nil when the flight was abandoned.
    func join() -> Ticket? {
        state.withLock { state in
            guard !state.abandoned else { return nil }
            let ticket = state.nextTicket
            state.nextTicket += 1
            state.members.insert(ticket)
            return ticket
        }
    }

    /// A ticket that waits for the flight to end without keeping it alive.
    func watch() -> Ticket {
        state.withLock { state in
            let ticket = state.nextTicket
            state.nextTicket += 1
            return ticket
        }
    }

    /// The outcome, or nil when the calling task was cancelled first (it then leaves at once).
    func outcome(for ticket: Ticket) async -> Outcome? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Outcome?, Never>) in
                enum Now {
                    case resume(Outcome?)
                    case wait
                }
                let now: Now = state.withLock { state in
                    if let outcome = state.outcome { return .resume(outcome) }
                    if state.left.remove(ticket) != nil { return .resume(nil) }
                    state.waiting[ticket] = continuation
                    return .wait
                }
                if case .resume(let outcome) = now { continuation.resume(returning: outcome) }
            }
        } onCancel: {
            leave(ticket)
        }
    }

    private func leave(_ ticket: Ticket) {
        let (continuation, abandonedTask) = state.withLock { state -> (CheckedContinuation<Outcome?, Never>?, Task<Void, Never>?) in
            guard state.outcome == nil else { return (nil, nil) }
            let continuation = state.waiting.removeValue(forKey: ticket)
            if continuation == nil { state.left.insert(ticket) }
            guard state.members.remove(ticket) != nil, state.members.isEmpty else { return (continuation, nil) }
            state.abandoned = true
            return (continuation, state.task)
        }
        continuation?.resume(returning: nil)
        abandonedTask?.cancel()
    }

    /// Hands the outcome to every waiter.
    func land(_ outcome: Outcome) {
        let waiting = state.withLock { state in
            state.outcome = outcome
            defer { state.waiting = [:] }
            return state.waiting
        }
        for continuation in waiting.values { continuation.resume(returning: outcome) }
    }
}
