/// Runs mutating methods at most once per (method, idempotency key) — SPEC §3.2.
public protocol IdempotencyGate: Sendable {
    /// Runs `operation` unless a record for (method, key) exists: a finished record with the
    /// same params replays its result (`replayed == true`); different params → Conflict; a
    /// running one is waited for until `deadline` (then InProgress).
    ///
    /// `deadline` bounds this caller's wait, not the execution: the caller that started it gets
    /// DeadlineExceeded, and the execution goes on while any other caller still waits for it.
    /// A cancelled caller stops waiting at once; the execution is cancelled when no caller is left.
    func run(
        method: String, key: String, params: JSONObject, deadline: ContinuousClock.Instant?,
        operation: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> (result: JSONValue, replayed: Bool)
}
