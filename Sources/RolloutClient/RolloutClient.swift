public import RolloutCore
public import RolloutRPC
import NIOCore
import NIOPosix
import Synchronization

/// A JSON-RPC client for rolloutd's Unix socket: concurrent calls on one connection, responses
/// matched by id, `$/progress` routed to per-call callbacks, cancellation with `$/cancelRequest`.
public final class RolloutClient: Sendable {
    private let channel: any Channel
    private let state: ClientState
    private let nextID = Atomic<Int>(1)

    private init(channel: any Channel, state: ClientState) {
        self.channel = channel
        self.state = state
    }

    /// Connects to the daemon's socket.
    public static func connect(socketPath: String) async throws -> RolloutClient {
        let state = ClientState()
        do {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(ResponseLineDecoder()))
                        try channel.pipeline.syncOperations.addHandler(ClientHandler(state: state))
                    }
                }
                .connect(unixDomainSocketPath: socketPath)
                .get()
            return RolloutClient(channel: channel, state: state)
        } catch {
            throw RolloutError(.unavailable, "cannot connect to rolloutd at \(socketPath): \(error)")
        }
    }

    /// Calls `method` with by-name `params`; returns the result, or throws the error response
    /// as a ``RolloutError`` (with `data` minus `kind`/`reason`).
    public func call(
        _ method: String, params: JSONObject = [:],
        progress: (@Sendable (JSONObject) -> Void)? = nil
    ) async throws -> JSONValue {
        let id = nextID.wrappingAdd(1, ordering: .relaxed).oldValue
        var params = params
        if progress != nil {
            params["progressToken"] = .string("p\(id)")
        }
        let request: JSONValue = .object([
            "jsonrpc": "2.0", "id": .number(JSONNumber(id)), "method": .string(method), "params": .object(params),
        ])
        let cancellation = CallCancellation()
        let response = try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<JSONValue, any Error>) in
                let written = cancellation.send {
                    state.register(id: id, continuation: continuation, progress: progress)
                    return channel.writeAndFlush(ByteBuffer(bytes: Outgoing.line(request)))
                }
                guard let written else {
                    // Cancelled before it was sent: the daemon never hears of it.
                    continuation.resume(throwing: CancellationError())
                    return
                }
                written.whenFailure { error in
                    self.state.fail(id: id, RolloutError(.unavailable, "cannot write to rolloutd: \(error)"))
                }
            }
        } onCancel: {
            cancellation.cancel {
                self.notify("$/cancelRequest", params: ["id": .number(JSONNumber(id))])
            }
        }
        if let error = response["error"] {
            throw Self.decodeError(error)
        }
        return response["result"] ?? .null
    }

    /// Calls a typed method: `M.name` with `params` encoded by name, the result decoded as
    /// `M.Result`, so that a renamed method or param fails to compile rather than at the daemon.
    ///
    /// - Parameters:
    ///   - idempotencyKey: sent as the generic `idempotencyKey` param (SPEC §3.2) when given.
    ///   - extra: members added to the encoded params (generic params, protocol tests).
    ///   - progress: receives the call's `$/progress` notifications; a token is sent only with it.
    public func call<M: RPCMethod>(
        _ method: M.Type, _ params: M.Params, idempotencyKey: String? = nil, extra: JSONObject = [:],
        progress: (@Sendable (JSONObject) -> Void)? = nil
    ) async throws -> M.Result {
        guard case .object(var object) = try JSONValueEncoder().encode(params) else {
            throw RolloutError.invalidParams("params of \(M.name) must encode to an object")
        }
        for (key, value) in extra { object[key] = value }
        if let idempotencyKey { object["idempotencyKey"] = .string(idempotencyKey) }
        let result = try await call(M.name, params: object, progress: progress)
        return try JSONValueDecoder().decode(M.Result.self, from: result)
    }

    /// Sends a notification (no response).
    public func notify(_ method: String, params: JSONObject) {
        let message: JSONValue = .object(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)])
        channel.writeAndFlush(ByteBuffer(bytes: Outgoing.line(message)), promise: nil)
    }

    /// Sends raw bytes (tests of protocol edge cases).
    public func sendRaw(_ bytes: [UInt8]) async throws {
        try await channel.writeAndFlush(ByteBuffer(bytes: bytes))
    }

    /// Closes the connection; pending calls fail with Unavailable.
    public func close() async {
        try? await channel.close()
    }

    static func decodeError(_ error: JSONValue) -> RolloutError {
        let code = ErrorCode(rawValue: Int(error["code"]?.int64Value ?? Int64(ErrorCode.internalError.rawValue)))
        var data = error["data"]?.objectValue ?? [:]
        data.removeValue(forKey: "kind")
        data.removeValue(forKey: "reason")
        return RolloutError(code, error["message"]?.stringValue ?? code.reason, data: data)
    }
}

/// Orders one call's request and its `$/cancelRequest`.
///
/// The cancellation handler can run before the request is written (a task cancelled as the call
/// begins, like a Ctrl-C just after `rollout wait` started): a cancel sent first names an id the
/// daemon does not know yet, so it is dropped, and the request then runs to its end (for
/// `rollout.wait`, until the deployment ends). Here a cancel that comes first stops the request
/// from being sent at all, and one that comes after is written after it: both writes are issued
/// under one lock, and NIO keeps the order in which writes are issued.
final class CallCancellation: Sendable {
    private enum State {
        case notSent
        case sent
        case cancelledBeforeSending
    }

    private let state = Mutex(State.notSent)

    /// Runs `write` unless the call was cancelled; returns its future, or nil when cancelled.
    func send<Value>(_ write: () -> Value) -> Value? {
        state.withLock { state in
            guard case .notSent = state else { return nil }
            state = .sent
            return write()
        }
    }

    /// Runs `notify` when the request was sent; otherwise makes sure it never will be.
    func cancel(_ notify: () -> Void) {
        state.withLock { state in
            switch state {
            case .notSent: state = .cancelledBeforeSending
            case .sent: notify()
            case .cancelledBeforeSending: break
            }
        }
    }
}

/// Pending calls and their progress callbacks, shared between callers and the event loop.
final class ClientState: Sendable {
    private struct Pending {
        var continuation: CheckedContinuation<JSONValue, any Error>
        var progress: (@Sendable (JSONObject) -> Void)?
    }

    private let pending = Mutex<[Int: Pending]>([:])
    private let closed = Atomic<Bool>(false)

    func register(id: Int, continuation: CheckedContinuation<JSONValue, any Error>, progress: (@Sendable (JSONObject) -> Void)?) {
        if closed.load(ordering: .relaxed) {
            continuation.resume(throwing: RolloutError(.unavailable, "the connection to rolloutd is closed"))
            return
        }
        pending.withLock { $0[id] = Pending(continuation: continuation, progress: progress) }
    }

    func fail(id: Int, _ error: RolloutError) {
        pending.withLock { $0.removeValue(forKey: id) }?.continuation.resume(throwing: error)
    }

    func receive(_ message: JSONValue) {
        if case .string("$/progress") = message["method"] {
            guard case .string(let token)? = message["params"]?["progressToken"], token.hasPrefix("p"),
                let id = Int(token.dropFirst()), let params = message["params"]?.objectValue
            else { return }
            let callback = pending.withLock { $0[id]?.progress }
            callback?(params)
            return
        }
        guard let id = message["id"]?.int64Value.map(Int.init) else { return }
        pending.withLock { $0.removeValue(forKey: id) }?.continuation.resume(returning: message)
    }

    func closeAll() {
        closed.store(true, ordering: .relaxed)
        let all = pending.withLock { pending -> [Pending] in
            defer { pending.removeAll() }
            return Array(pending.values)
        }
        for entry in all {
            entry.continuation.resume(throwing: RolloutError(.unavailable, "the connection to rolloutd closed"))
        }
    }
}

/// Feeds parsed lines to the ``ClientState``.
final class ClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let state: ClientState

    init(state: ClientState) {
        self.state = state
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = unwrapInboundIn(data)
        guard let message = try? line.withUnsafeReadableBytes({ try JSONParser.parse($0) }) else { return }
        if case .array(let responses) = message {
            for response in responses { state.receive(response) }
        } else {
            state.receive(message)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        state.closeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Splits the daemon's output into lines.
struct ResponseLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = ByteBuffer

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let newline = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else { return .needMoreData }
        let length = newline - buffer.readableBytesView.startIndex
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }
}
