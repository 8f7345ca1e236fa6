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
/// At shutdown the server drives it through ``cancelInflight()`` and
/// ``closeForShutdown(flushTime:)``: what is still owed is answered (-32800 for requests that
/// did not stop, and for lines read but never started) and flushed before the connection closes.
///
/// All mutable state is confined to the channel's event loop.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    private let shared: ServerShared
    private let connectionID: UInt64
    private var peer: Peer?
    private var pending = CircularBuffer<FramedLine>()
    private var ledger = RequestLedger()
    private var tasks: [RequestLedger.ItemRef: Task<Void, Never>] = [:]
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
        let connection = ServerShared.Connection(
            channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop)
        )
        guard shared.register(connectionID, connection) else {
            // Admitted after shutdown began: answer what was read without running it, and close.
            closeForShutdown(flushTime: RPCServer.flushTime)
            return
        }
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
        cancelInflight()
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
        let limit = shared.settings.maxInflightPerConnection
        while ledger.openLines < limit, context.channel.isWritable, !shared.isDraining, let line = pending.popFirst() {
            start(line)
        }
        let wantsRead = pending.isEmpty && ledger.openLines < limit && !shared.isDraining
        if wantsRead != reading {
            reading = wantsRead
            context.channel.setOption(ChannelOptions.autoRead, value: wantsRead).whenFailure { _ in }
            if wantsRead, !inputClosed {
                context.read()
            }
        }
        if inputClosed, ledger.isEmpty, pending.isEmpty {
            context.flush()
            context.close(promise: nil)
        }
    }

    private func start(_ framed: FramedLine) {
        switch parse(framed) {
        case .rejected(let error):
            write(Outgoing.error(id: .null, error))
        case .single(let item):
            if handleControl(item) { return }
            let line = ledger.open([item], isBatch: false)
            launch(item, RequestLedger.ItemRef(line: line, index: 0))
        case .batch(let items):
            let line = ledger.open(items, isBatch: true)
            for (index, item) in items.enumerated() {
                let ref = RequestLedger.ItemRef(line: line, index: index)
                if handleControl(item) {
                    finished(ref, answer: nil)
                } else {
                    launch(item, ref)
                }
            }
        }
    }

    /// A framed line as a message; an over-long line is rejected like a malformed one.
    private func parse(_ framed: FramedLine) -> IncomingMessage {
        switch framed {
        case .tooLarge:
            let limit = shared.settings.maxRequestBytes
            return .rejected(Envelope.tooLarge("request line exceeds max_request_bytes (\(limit) bytes)"))
        case .line(let buffer):
            let maxBatchItems = shared.settings.maxBatchItems
            return buffer.withUnsafeReadableBytes { Envelope.parse(line: $0, maxBatchItems: maxBatchItems) }
        }
    }

    /// Handles `$/cancelRequest`; returns true when the item was a control notification.
    private func handleControl(_ item: IncomingItem) -> Bool {
        guard case .notification(let method, let params) = item, method.hasPrefix("$/") else { return false }
        if method == "$/cancelRequest" || method == "notifications/cancelled",
            let idValue = params?["id"] ?? params?["requestId"], let id = RequestID(idValue),
            let ref = ledger.item(for: id)
        {
            tasks[ref]?.cancel()
        }
        return true
    }

    /// Runs `item` in a task; its answer comes back to ``finished(_:answer:)`` on the event loop.
    private func launch(_ item: IncomingItem, _ ref: RequestLedger.ItemRef) {
        guard let context, let peer else { return }
        let eventLoop = context.eventLoop
        let channel = context.channel
        let connection = ConnectionInfo(id: connectionID, peer: peer) { notification in
            channel.writeAndFlush(ByteBuffer(bytes: Outgoing.line(notification)), promise: nil)
        }
        let dispatcher = shared.dispatcher
        let counter = shared.inflight
        let loopBoundSelf = NIOLoopBound(self, eventLoop: eventLoop)
        counter.increment()
        tasks[ref] = Task(executorPreference: executor) {
            let answer = await dispatcher.handle(item, connection: connection)
            let finish: @Sendable () -> Void = {
                loopBoundSelf.value.finished(ref, answer: answer)
                counter.decrement()
            }
            if eventLoop.inEventLoop {
                finish()
            } else {
                eventLoop.execute(finish)
            }
        }
    }

    /// An item answered (or, for a control item, needs no answer): writes its line's answer
    /// once the whole line is done, and makes room for the next line.
    private func finished(_ ref: RequestLedger.ItemRef, answer: JSONValue?) {
        tasks[ref] = nil
        guard case .finished(let lineAnswer) = ledger.complete(ref, answer: answer) else { return }
        if let lineAnswer { write(lineAnswer) }
        drain()
    }

    /// Shutdown, after the grace period: cancels every running request.
    func cancelInflight() {
        for task in tasks.values {
            task.cancel()
        }
    }

    /// Shutdown, last step: writes every answer still owed (requests still running and lines
    /// read but never started get -32800), flushes for at most `flushTime`, and closes.
    func closeForShutdown(flushTime: TimeAmount) {
        guard let context else { return }
        var owed = ledger.abandonAll()
        while let line = pending.popFirst() {
            if let answer = RequestLedger.answerWithoutRunning(parse(line)) { owed.append(answer) }
        }
        cancelInflight()
        for answer in owed {
            write(answer)
        }
        let channel = context.channel
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: flushed)
        // A client that does not read cannot hold the shutdown up: close after `flushTime` anyway.
        let deadline = context.eventLoop.scheduleTask(in: flushTime) { channel.close(promise: nil) }
        flushed.futureResult.whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
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

/// The layout of Linux `struct ucred` (`SO_PEERCRED`): pid, uid, gid.
struct PeerCredentials: Sendable {
    var pid: Int32 = 0
    var uid: UInt32 = 0
    var gid: UInt32 = 0
}
