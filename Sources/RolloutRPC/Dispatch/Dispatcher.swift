public import Logging
public import RolloutCore

/// Runs one request or notification: generic params (`timeoutMs`, `progressToken`,
/// `idempotencyKey`), decoding, the handler, deadline and cancellation, error mapping.
///
/// It holds no connection state; the server calls it from one task per request.
public struct Dispatcher: Sendable {
    private let registry: MethodRegistry
    private let gate: (any IdempotencyGate)?
    private let logger: Logger
    private let slowRequest: Duration
    private let metrics: RequestMetrics
    /// Methods that wait by design (long polls, rollout waits): never "slow".
    private static let waitingMethods: Set<String> = [QueueReceive.name, RolloutWait.name]

    /// Creates a dispatcher. Every request is logged at debug; a failed one at notice (fatal)
    /// or warning (recoverable); one that ran longer than `slowRequest` at info.
    public init(
        registry: MethodRegistry, idempotency gate: (any IdempotencyGate)?, logger: Logger,
        slowRequest: Duration = .seconds(1)
    ) {
        self.registry = registry
        self.gate = gate
        self.logger = logger
        self.slowRequest = slowRequest
        self.metrics = RequestMetrics(methodNames: registry.names)
    }

    /// The registered method names.
    public var methodNames: [String] { registry.names }

    /// Handles one item; returns the response to write, or nil for notifications.
    public func handle(_ item: IncomingItem, connection: ConnectionInfo) async -> JSONValue? {
        switch item {
        case .invalid(let id, let error):
            return Outgoing.error(id: id, error)
        case .notification(let method, let params):
            // Notifications are never answered, not even with an error.
            guard !method.hasPrefix("$/") else { return nil }
            _ = await run(id: nil, method: method, params: params, connection: connection)
            return nil
        case .request(let id, let method, let params):
            return await run(id: id, method: method, params: params, connection: connection)
        }
    }

    private func run(id: RequestID?, method: String, params: JSONValue?, connection: ConnectionInfo) async -> JSONValue? {
        let start = ContinuousClock.now
        let responseID = id ?? .null
        let outcome: Result<JSONValue, RolloutError>
        do {
            outcome = .success(try await invoke(id: responseID, method: method, params: params, connection: connection))
        } catch let error as RolloutError {
            outcome = .failure(Task.isCancelled ? .cancelled : error)
        } catch is CancellationError {
            outcome = .failure(.cancelled)
        } catch {
            logger.error("handler failed", metadata: ["rpc.method": "\(method)", "error": "\(String(describing: type(of: error)))"])
            outcome = .failure(Task.isCancelled ? .cancelled : .internalError("internal error"))
        }
        log(method: method, id: id, connection: connection, start: start, outcome: outcome)
        metrics.record(method: method, outcome: outcome, since: start)
        guard id != nil else { return nil }
        switch outcome {
        case .success(let value): return Outgoing.result(id: responseID, value)
        case .failure(let error): return Outgoing.error(id: responseID, error)
        }
    }

    private func invoke(id: RequestID, method: String, params: JSONValue?, connection: ConnectionInfo) async throws -> JSONValue {
        guard let entry = registry.entries[method] else {
            throw RolloutError(.methodNotFound, "method not found: \(method)")
        }
        var object = try Self.paramsObject(params)
        let timeoutMs = try Self.take("timeoutMs", from: &object, as: "a positive integer") { value -> Int64? in
            guard let ms = value.int64Value, ms >= 1 else { return nil }
            return ms
        }
        let progressToken = try Self.take("progressToken", from: &object, as: "a string or a number") { value -> JSONValue? in
            switch value {
            case .string, .number: value
            default: nil
            }
        }
        var idempotencyKey = try Self.take("idempotencyKey", from: &object, as: "1–255 printable ASCII characters") { value -> String? in
            guard case .string(let key) = value, (1...255).contains(key.utf8.count),
                key.utf8.allSatisfy({ (0x20...0x7E).contains($0) })
            else { return nil }
            return key
        }
        if idempotencyKey != nil, !entry.isMutating {
            guard entry.ignoresIdempotencyKey else {
                throw RolloutError.invalidParams("param 'idempotencyKey' is only accepted by mutating methods; \(method) does not mutate")
            }
            idempotencyKey = nil
        }
        let deadline = timeoutMs.map { ContinuousClock.now.advanced(by: .milliseconds($0)) }
        let progress = progressToken.map { token in
            Self.progressReporter(token: token, notify: connection.notify)
        } ?? .none
        let context = RequestContext(
            id: id, method: method, peer: connection.peer, connectionID: connection.id, progress: progress, deadline: deadline
        )
        let params = object
        guard let idempotencyKey, let gate else {
            return try await withDeadline(deadline) { try await entry.run(params, context) }
        }
        // The execution may outlive this caller (others may wait for it), so the gate applies
        // each caller's deadline to that caller's wait: DeadlineExceeded for the caller that
        // started it, InProgress for one that waited on another's.
        let (result, replayed) = try await gate.run(
            method: method, key: idempotencyKey, params: params, deadline: deadline,
            operation: { try await entry.run(params, context) }
        )
        if replayed { metrics.replayed(method: method) }
        guard replayed, case .object(var resultObject) = result else { return result }
        resultObject["replayed"] = true
        return .object(resultObject)
    }

    private static func paramsObject(_ params: JSONValue?) throws(RolloutError) -> JSONObject {
        switch params {
        case nil, .null?: return [:]
        case .object(let object)?: return object
        case .array(let array)? where array.isEmpty: return [:]
        case .array?: throw .invalidParams("params must be an object (by-name); positional params are not supported")
        default: throw .invalidParams("params must be an object")
        }
    }

    private static func take<T>(
        _ key: String, from object: inout JSONObject, as expected: String, _ convert: (JSONValue) -> T?
    ) throws(RolloutError) -> T? {
        guard let value = object.removeValue(forKey: key) else { return nil }
        guard let converted = convert(value) else {
            throw .invalidParams("param '\(key)' must be \(expected)")
        }
        return converted
    }

    private static func progressReporter(token: JSONValue, notify: @escaping @Sendable (JSONValue) -> Void) -> ProgressReporter {
        let throttle = ProgressThrottle(minimumInterval: .milliseconds(100))
        return ProgressReporter { fields, coalescible in
            guard throttle.admit(coalescible: coalescible) else { return }
            var params: JSONObject = ["progressToken": token]
            for (key, value) in fields {
                params[key] = value
            }
            notify(Outgoing.notification(method: "$/progress", params: params))
        }
    }

    private func log(method: String, id: RequestID?, connection: ConnectionInfo, start: ContinuousClock.Instant, outcome: Result<JSONValue, RolloutError>) {
        let elapsed = ContinuousClock.now - start
        let slow = elapsed > slowRequest && !Self.waitingMethods.contains(method)
        let level: Logger.Level
        switch outcome {
        case .success: level = slow ? .info : .debug
        case .failure(let error): level = error.code.kind == .recoverable ? .warning : .notice
        }
        guard logger.logLevel <= level else { return }
        let micros = elapsed.components.seconds * 1_000_000 + elapsed.components.attoseconds / 1_000_000_000_000
        var metadata: Logger.Metadata = [
            "rpc.method": "\(method)", "rpc.duration_us": "\(micros)", "peer.uid": "\(connection.peer.uid)",
            "conn": "\(connection.id)",
        ]
        if let id { metadata["rpc.id"] = "\(id)" }
        switch outcome {
        case .success:
            metadata["outcome"] = "ok"
            logger.log(level: level, slow ? "slow request" : "request", metadata: metadata)
        case .failure(let error):
            metadata["outcome"] = "\(error.code.reason)"
            logger.log(level: level, "request failed", metadata: metadata)
        }
    }
}
