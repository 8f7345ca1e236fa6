/// The keyed mutating call an operation runs for (SPEC §3.2), visible to the operation through
/// the task-local ``current`` while it runs.
///
/// The idempotency gate writes the call's record as "started" (fingerprint, no outcome) before
/// it runs the operation and sets ``current``. A provider whose effect commits in the database
/// of the record (the `local` provider) finishes the record inside the effect's own
/// transaction, so the effect and its record commit together. A provider whose effect lives in
/// a remote service (AWS) reads ``resuming``: when true, a daemon that was killed had started
/// this call, and the operation must first find out from the service whether the effect
/// already happened, and derive what must be stable across the two attempts (deduplication
/// ids, deployment ids) from ``identity``.
public struct IdempotentCall: Sendable, Hashable {
    /// The method, e.g. `queue.send`.
    public let method: String
    /// The caller's `idempotencyKey`.
    public let key: String
    /// SHA-256 of the canonical params (everything but the generic params).
    public let fingerprint: [UInt8]
    /// When the record was first written (seconds since the epoch); kept by every later
    /// attempt of the same call, so values derived from it are stable across restarts.
    public let createdAt: Double
    /// When the record expires (seconds since the epoch).
    public let expiresAt: Double
    /// True when a started record without outcome was found and no execution of it is running
    /// in this daemon: the daemon that started it died at some point of the operation.
    public let resuming: Bool

    /// Creates a call record.
    public init(method: String, key: String, fingerprint: [UInt8], createdAt: Double, expiresAt: Double, resuming: Bool) {
        self.method = method
        self.key = key
        self.fingerprint = fingerprint
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.resuming = resuming
    }

    /// A text that names this call, the same for every attempt of it (method, key and the
    /// record's creation time, so a key reused after its record expired names another call).
    /// Hash it to derive stable ids.
    public var identity: String {
        "rolloutd\u{0}\(method)\u{0}\(key)\u{0}\(createdAt)"
    }

    /// The call the current task runs for, if it is a keyed call.
    @TaskLocal public static var current: IdempotentCall?

    /// ``current`` when it is a keyed call of `method` (an operation finishes only its own record).
    public static func current(for method: String) -> IdempotentCall? {
        guard let call = current, call.method == method else { return nil }
        return call
    }
}
