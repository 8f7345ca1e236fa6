public import RolloutCore
public import RolloutRPC
import GRDB
import RolloutCrypto
import Synchronization
import Glibc
import Foundation

/// SPEC §3.2 on top of the `idempotency` table: records keyed by (method, key) holding a
/// SHA-256 fingerprint of the other params and the finished outcome, for `ttl`.
///
/// Concurrent calls with one key inside this daemon coalesce on one in-memory flight, so N
/// concurrent calls produce exactly one side effect; finished outcomes survive restarts in
/// SQLite. Recoverable failures are not recorded, so the caller may retry with the same key.
public final class IdempotencyRecords: IdempotencyGate {
    private struct FlightKey: Hashable {
        var method: String
        var key: String
    }

    private struct Outcome: Sendable {
        var result: Result<JSONValue, RolloutError>
        /// True when the outcome came from a stored record rather than running the operation.
        var fromRecord: Bool
    }

    private struct Flight {
        var fingerprint: [UInt8]
        var task: Task<Outcome, Never>
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
            case leader(Task<Outcome, Never>)
            case follower(Task<Outcome, Never>)
            case conflict
        }
        let role: Role = flights.withLock { flights in
            if let flight = flights[flightKey] {
                return flight.fingerprint == fingerprint ? .follower(flight.task) : .conflict
            }
            let task = Task { await self.lead(flightKey, fingerprint: fingerprint, operation: operation) }
            flights[flightKey] = Flight(fingerprint: fingerprint, task: task)
            return .leader(task)
        }
        switch role {
        case .conflict:
            throw Self.conflict(method: method, key: key)
        case .leader(let task):
            let outcome = await withTaskCancellationHandler {
                await task.value
            } onCancel: {
                task.cancel()
            }
            return (try outcome.result.get(), outcome.fromRecord)
        case .follower(let task):
            let outcome: Outcome
            do {
                outcome = try await withDeadline(deadline) { await task.value }
            } catch let error as RolloutError where error.code == .deadlineExceeded {
                throw RolloutError(
                    .inProgress, "idempotencyKey \"\(key)\" is still executing elsewhere and did not finish in time"
                )
            }
            return (try outcome.result.get(), true)
        }
    }

    private func lead(
        _ flightKey: FlightKey, fingerprint: [UInt8], operation: @escaping @Sendable () async throws -> JSONValue
    ) async -> Outcome {
        defer { _ = flights.withLock { $0.removeValue(forKey: flightKey) } }
        do {
            if let stored = try await lookup(flightKey) {
                guard stored.fingerprint == fingerprint else {
                    return Outcome(result: .failure(Self.conflict(method: flightKey.method, key: flightKey.key)), fromRecord: true)
                }
                return Outcome(result: stored.outcome, fromRecord: true)
            }
        } catch {
            return Outcome(result: .failure(.internalError("idempotency store unavailable")), fromRecord: false)
        }
        let outcome: Result<JSONValue, RolloutError>
        do {
            outcome = .success(try await operation())
        } catch let error as RolloutError {
            outcome = .failure(error)
        } catch is CancellationError {
            outcome = .failure(.cancelled)
        } catch {
            outcome = .failure(.internalError("internal error"))
        }
        if case .failure(let error) = outcome, error.code.kind == .recoverable {
            return Outcome(result: outcome, fromRecord: false)
        }
        do {
            try await record(flightKey, fingerprint: fingerprint, outcome: outcome)
        } catch {
            // The effect happened; losing the record only weakens replay, so answer anyway.
        }
        return Outcome(result: outcome, fromRecord: false)
    }

    private struct Stored {
        var fingerprint: [UInt8]
        var outcome: Result<JSONValue, RolloutError>
    }

    private func lookup(_ flightKey: FlightKey) async throws -> Stored? {
        let now = Self.now()
        let record: (fingerprint: Data, outcome: String)? = try await store.pool.read { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT fingerprint, outcome FROM idempotency WHERE method = ? AND key = ? AND expires_at > ?",
                arguments: [flightKey.method, flightKey.key, now]
            )
            return row.map { ($0["fingerprint"], $0["outcome"]) }
        }
        guard let record else { return nil }
        let fingerprintData = [UInt8](record.fingerprint)
        let text = record.outcome
        let json = try JSONParser.parse(text)
        if let result = json["result"] {
            return Stored(fingerprint: fingerprintData, outcome: .success(result))
        }
        let error = json["error"]
        let code = ErrorCode(rawValue: Int(error?["code"]?.int64Value ?? Int64(ErrorCode.internalError.rawValue)))
        var data = error?["data"]?.objectValue ?? [:]
        data.removeValue(forKey: "kind")
        data.removeValue(forKey: "reason")
        let message = error?["message"]?.stringValue ?? code.reason
        return Stored(fingerprint: fingerprintData, outcome: .failure(RolloutError(code, message, data: data)))
    }

    private func record(_ flightKey: FlightKey, fingerprint: [UInt8], outcome: Result<JSONValue, RolloutError>) async throws {
        let stored: JSONValue
        switch outcome {
        case .success(let value):
            stored = .object(["result": value])
        case .failure(let error):
            stored = .object([
                "error": .object([
                    "code": .number(JSONNumber(error.code.rawValue)), "message": .string(error.message),
                    "data": .object(error.data),
                ])
            ])
        }
        let now = Self.now()
        let expires = now + ttlSeconds
        let text = stored.jsonString
        try await store.pool.write { db in
            try db.execute(
                sql: """
                    INSERT OR REPLACE INTO idempotency (method, key, fingerprint, outcome, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [flightKey.method, flightKey.key, Data(fingerprint), text, now, expires]
            )
        }
    }

    /// Deletes expired records; returns how many.
    @discardableResult
    public func collectGarbage() async throws -> Int {
        let now = Self.now()
        return try await store.pool.write { db in
            try db.execute(sql: "DELETE FROM idempotency WHERE expires_at <= ?", arguments: [now])
            return db.changesCount
        }
    }

    private static func conflict(method: String, key: String) -> RolloutError {
        RolloutError(
            .conflict,
            "idempotencyKey \"\(key)\" was already used for \(method) with different params; use a new key"
        )
    }

    static func now() -> Double {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Double(spec.tv_sec) + Double(spec.tv_nsec) / 1e9
    }
}
