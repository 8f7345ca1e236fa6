import Glibc
import Logging
import NIOCore
import RolloutCore
import RolloutRPC

/// Serves one connection on its event loop: takes framed lines, runs each request in its own
/// task (responses go out in completion order, matched by id), caps in-flight requests by no
/// longer reading (backpressure, never dropping), answers `$/cancelRequest`, finishes in-flight
/// work after a half-close, and cancels it when the peer goes away.
///
/// All mutable state is confined to the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    private let shared: ServerShared
    private let connectionID: UInt64
    private var peer: Peer?
    private var pending = CircularBuffer<FramedLine>()
    private var inflight = 0
    private var tasks: [RequestID: Task<Void, Never>] = [:]
    private var inputClosed = false
    private var executor: EventLoopTaskExecutor?
    private var reading = true
    private var flushScheduled = false
    private var refused = false
    private var context: ChannelHandlerContext?

    init(shared: ServerShared, connectionID: UInt64) {
        self.shared = shared
        self.connectionID = connectionID
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.executor = EventLoopTaskExecutor(context.eventLoop)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        guard let provider = context.channel as? any SocketOptionProvider else {
            context.close(promise: nil)
            return
        }
        let future: EventLoopFuture<PeerCredentials> = provider.unsafeGetSocketOption(
            level: .socket, name: NIOBSDSocket.Option(rawValue: SO_PEERCRED)
        )
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        future.whenComplete { result in
            loopBoundSelf.value.admit(result)
        }
        context.fireChannelActive()
    }

    private func admit(_ result: Result<PeerCredentials, any Error>) {
        guard let context else { return }
        guard case .success(let credentials) = result else {
            shared.logger.warning("cannot read peer credentials; closing", metadata: ["conn": "\(connectionID)"])
            context.close(promise: nil)
            return
        }
        let peer = Peer(uid: credentials.uid, gid: credentials.gid, pid: credentials.pid)
        guard shared.isAllowed(uid: peer.uid) else {
            shared.logger.warning("refused connection", metadata: ["peer.uid": "\(peer.uid)", "peer.pid": "\(peer.pid)"])
            let error = RolloutError(
                .accessDenied,
                "uid \(peer.uid) is not allowed to use this socket; add it to [server].allowed_uids"
            )
            write(Outgoing.error(id: .null, error))
            refuse(context)
            return
        }
        self.peer = peer
        shared.register(connectionID, channel: context.channel)
        drain()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !refused else { return }
        pending.append(unwrapInboundIn(data))
        drain()
    }

    /// Half-closes after the refusal so the peer reads it (closing with unread input would
    /// reset the connection and lose the error), discards its input, and closes on EOF or
    /// after a short grace.
    private func refuse(_ context: ChannelHandlerContext) {
        refused = true
        context.flush()
        context.close(mode: .output, promise: nil)
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        context.read()
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        drain()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            inputClosed = true
            if refused {
                context.close(promise: nil)
                return
            }
            drain()
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        for task in tasks.values {
            task.cancel()
        }
        tasks.removeAll()
        pending.removeAll()
        shared.unregister(connectionID)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Starts queued lines while there is room; reads stop while anything is queued.
    private func drain() {
        guard let context, peer != nil else { return }
        while inflight < shared.settings.maxInflightPerConnection, context.channel.isWritable, !shared.isDraining, let line = pending.popFirst() {
            start(line)
        }
        let wantsRead = pending.isEmpty && inflight < shared.settings.maxInflightPerConnection && !shared.isDraining
        if wantsRead != reading {
            reading = wantsRead
            context.channel.setOption(ChannelOptions.autoRead, value: wantsRead).whenFailure { _ in }
            if wantsRead, !inputClosed {
                context.read()
            }
        }
        if inputClosed, inflight == 0, pending.isEmpty {
            context.flush()
            context.close(promise: nil)
        }
    }

    private func start(_ framed: FramedLine) {
        switch framed {
        case .tooLarge:
            let limit = shared.settings.maxRequestBytes
            write(Outgoing.error(id: .null, Envelope.tooLarge("request line exceeds max_request_bytes (\(limit) bytes)")))
        case .line(let buffer):
            let message = buffer.withUnsafeReadableBytes { Envelope.parse(line: $0, maxBatchItems: shared.settings.maxBatchItems) }
            switch message {
            case .rejected(let error):
                write(Outgoing.error(id: .null, error))
            case .single(let item):
                if handleControl(item) { return }
                inflight += 1
                launch(item) { [weak self] response in
                    if let response { self?.write(response) }
                    self?.finished()
                }
            case .batch(let items):
                startBatch(items)
            }
        }
    }

    /// Handles `$/cancelRequest`; returns true when the item was a control notification.
    private func handleControl(_ item: IncomingItem) -> Bool {
        guard case .notification(let method, let params) = item, method.hasPrefix("$/") else { return false }
        if method == "$/cancelRequest" || method == "notifications/cancelled",
            let idValue = params?["id"] ?? params?["requestId"], let id = RequestID(idValue)
        {
            tasks[id]?.cancel()
        }
        return true
    }

    private func startBatch(_ items: [IncomingItem]) {
        inflight += 1
        let collector = BatchCollector(expected: items.count)
        for item in items {
            if handleControl(item) {
                collector.add(nil)
                continue
            }
            launch(item) { [weak self] response in
                collector.add(response)
                guard collector.isComplete else { return }
                if !collector.responses.isEmpty {
                    self?.write(.array(collector.responses))
                }
                self?.finished()
            }
        }
        if collector.isComplete {
            if !collector.responses.isEmpty { write(.array(collector.responses)) }
            finished()
        }
    }

    /// Runs `item` in a task; `completion` runs back on the event loop with its response.
    private func launch(_ item: IncomingItem, completion: @escaping (JSONValue?) -> Void) {
        guard let context, let peer else { return }
        let eventLoop = context.eventLoop
        let channel = context.channel
        let connection = ConnectionInfo(id: connectionID, peer: peer) { notification in
            channel.writeAndFlush(ByteBuffer(bytes: Outgoing.line(notification)), promise: nil)
        }
        let dispatcher = shared.dispatcher
        let counter = shared.inflight
        let completion = NIOLoopBound(completion, eventLoop: eventLoop)
        let loopBoundSelf = NIOLoopBound(self, eventLoop: eventLoop)
        var requestID: RequestID?
        if case .request(let id, _, _) = item { requestID = id }
        let key = requestID
        counter.increment()
        let task = Task(executorPreference: executor) {
            let response = await dispatcher.handle(item, connection: connection)
            let finish: @Sendable () -> Void = {
                if let key { loopBoundSelf.value.tasks.removeValue(forKey: key) }
                completion.value(response)
                counter.decrement()
            }
            if eventLoop.inEventLoop {
                finish()
            } else {
                eventLoop.execute(finish)
            }
        }
        if let requestID { tasks[requestID] = task }
    }

    private func finished() {
        inflight -= 1
        drain()
    }

    /// Writes one line; flushes are coalesced to one per event-loop tick, so pipelined
    /// responses leave in few `write` calls.
    private func write(_ message: JSONValue) {
        guard let context else { return }
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeBytes(Outgoing.line(message))
        context.write(wrapOutboundOut(buffer), promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        let loopBoundSelf = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            let handler = loopBoundSelf.value
            handler.flushScheduled = false
            handler.context?.flush()
        }
    }
}

/// Gathers a batch's responses on the event loop.
private final class BatchCollector {
    private let expected: Int
    private var received = 0
    private(set) var responses: [JSONValue] = []

    init(expected: Int) {
        self.expected = expected
    }

    var isComplete: Bool { received == expected }

    func add(_ response: JSONValue?) {
        received += 1
        if let response { responses.append(response) }
    }
}

/// The layout of Linux `struct ucred` (`SO_PEERCRED`): pid, uid, gid.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
