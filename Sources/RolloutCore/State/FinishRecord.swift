/// "Finish this call's idempotency record in the effect's own transaction": what a provider
/// whose effect commits in the state database (the `local` provider) hands to the store with
/// the effect, so the effect and its record commit together or not at all (SPEC §3.2).
///
/// `result` maps the effect's output (a message id, the outcomes of a batch) to the method's
/// wire result, encoded as its handler answers it. The store calls it inside the transaction;
/// when the record already holds an outcome (another execution of the call committed its
/// effect), the store throws and the transaction rolls back.
public struct FinishRecord<Output>: Sendable {
    /// The keyed call whose started record is finished.
    public let call: IdempotentCall
    /// The wire result the record holds, from the effect's output.
    public let result: @Sendable (Output) throws -> JSONValue

    /// Finishes `call` with `result(output)`.
    public init(_ call: IdempotentCall, result: @escaping @Sendable (Output) throws -> JSONValue) {
        self.call = call
        self.result = result
    }

    /// Finishes `call` with the JSON encoding of `wire(output)`.
    public init<Wire: Encodable & Sendable>(_ call: IdempotentCall, encoding wire: @escaping @Sendable (Output) -> Wire) {
        self.init(call) { output in try JSONValueEncoder().encode(wire(output)) }
    }

    /// The keyed call of `method` the current task runs for, finished with the encoding of
    /// `wire(output)`; nil when the task runs no keyed call of `method`.
    public static func current<Wire: Encodable & Sendable>(
        for method: String, encoding wire: @escaping @Sendable (Output) -> Wire
    ) -> FinishRecord? {
        IdempotentCall.current(for: method).map { FinishRecord($0, encoding: wire) }
    }
}
