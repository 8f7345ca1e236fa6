import Glibc
import Logging
import NIOCore
import RolloutCore
import RolloutRPC

/// Serves one connection: feeds what the channel sees into its ``ConnectionStateMachine`` and
/// carries out the actions that come back. It decides nothing itself.
///
/// Requests run in tasks on the global concurrent executor, never on the event loop (a handler
/// may stat or resolve a path); their answers come back to the channel's event loop, where all
/// of this handler's state lives.
///
/// At shutdown the server drives it through ``shutdownBegan()``, ``graceExpired()`` and
/// ``closeForShutdown()``.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = FramedLine
    typealias OutboundOut = ByteBuffer

    private let shared: ServerShared
    private let connectionID: UInt64
    private var machine: ConnectionStateMachine
    /// The connection as request handlers see it; set once the peer is admitted.
    private var connection: ConnectionInfo?
    private var tasks: [RequestLedger.ItemRef: Task<Void, Never>] = [:]
    private var flushScheduled = false
    private var context: ChannelHandlerContext?

    init(shared: ServerShared, connectionID: UInt64) {
        self.shared = shared
        self.connectionID = connectionID
        let settings = shared.settings
        self.machine = ConnectionStateMachine(
            configuration: .init(
                maxInflight: settings.maxInflightPerConnection, maxRequestBytes: settings.maxRequestBytes,
                maxBatchItems: settings.maxBatchItems
            )
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
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
            execute(machine.peerRefused(error))
            return
        }
        let channel = context.channel
        connection = ConnectionInfo(id: connectionID, peer: peer) { notification in
            channel.writeAndFlush(ByteBuffer(bytes: Outgoing.line(notification)), promise: nil)
        }
        let registered = shared.register(
            connectionID, ServerShared.Connection(channel: channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop))
        )
        // Admitted after shutdown began: answer what was read without running it, and close.
        execute(registered ? machine.peerAdmitted() : machine.closeForShutdown())
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .tooLarge:
            execute(machine.lineTooLarge())
        case .line(let buffer):
            execute(buffer.withUnsafeReadableBytes { machine.lineReceived($0) })
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        execute(machine.writabilityChanged(isWritable: context.channel.isWritable))
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            execute(machine.inputClosed())
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        execute(machine.channelInactive())
        tasks.removeAll()
        shared.unregister(connectionID)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Shutdown, step 1: stop reading and starting lines.
    func shutdownBegan() {
        execute(machine.shutdownBegan())
    }

    /// Shutdown, step 2 (the grace period is over): cancel every running request.
    func graceExpired() {
        execute(machine.graceExpired())
    }

    /// Shutdown, last step: write every answer still owed, flush for at most
    /// ``RPCServer/flushTime``, and close.
    func closeForShutdown() {
        execute(machine.closeForShutdown())
    }

    // MARK: - Actions

    private func execute(_ actions: [ConnectionStateMachine.Action]) {
        guard let context else { return }
        for action in actions {
            switch action {
            case .dispatch(let item, let ref):
                dispatch(item, ref, context: context)
            case .cancel(let ref):
                tasks[ref]?.cancel()
            case .cancelAll:
                for task in tasks.values { task.cancel() }
            case .write(let message):
                write(message, context: context)
            case .pauseReading:
                context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
            case .resumeReading:
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                context.read()
            case .refuse(let message):
                refuse(message, context: context)
            case .close:
                context.flush()
                context.close(promise: nil)
            case .closeAfterFlush:
                closeAfterFlush(within: RPCServer.flushTime, context: context)
            }
        }
    }

    /// Runs `item` in a task on the global concurrent executor; its answer comes back to the
    /// state machine on the event loop.
    private func dispatch(_ item: IncomingItem, _ ref: RequestLedger.ItemRef, context: ChannelHandlerContext) {
        guard let connection else { return }
        let eventLoop = context.eventLoop
        let dispatcher = shared.dispatcher
        let counter = shared.inflight
        let loopBoundSelf = NIOLoopBound(self, eventLoop: eventLoop)
        counter.increment()
        tasks[ref] = Task(executorPreference: globalConcurrentExecutor) {
            let answer = await dispatcher.handle(item, connection: connection)
            eventLoop.execute {
                loopBoundSelf.value.finished(ref, answer: answer)
                counter.decrement()
            }
        }
    }

    private func finished(_ ref: RequestLedger.ItemRef, answer: JSONValue?) {
        tasks[ref] = nil
        execute(machine.requestFinished(ref, answer: answer))
    }

    /// Half-closes after the refusal so the peer reads it (closing with unread input would
    /// reset the connection and lose the error), discards its input, and closes on EOF or
    /// after a short grace.
    private func refuse(_ message: JSONValue, context: ChannelHandlerContext) {
        write(message, context: context)
        context.flush()
        context.close(mode: .output, promise: nil)
        context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
        context.read()
        let channel = context.channel
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    /// Flushes, and closes once the flush is done or after `flushTime`, whichever comes first:
    /// a client that does not read cannot hold the shutdown up.
    private func closeAfterFlush(within flushTime: TimeAmount, context: ChannelHandlerContext) {
        let channel = context.channel
        let flushed = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(channel.allocator.buffer(capacity: 0)), promise: flushed)
        let deadline = context.eventLoop.scheduleTask(in: flushTime) { channel.close(promise: nil) }
        flushed.futureResult.whenComplete { _ in
            deadline.cancel()
            channel.close(promise: nil)
        }
    }

    /// Writes one line. With nothing else running on the connection the answer is flushed at
    /// once (a client waiting for each answer saves an event-loop hop); otherwise flushes are
    /// coalesced to one per event-loop tick, so pipelined responses leave in few `write` calls.
    private func write(_ message: JSONValue, context: ChannelHandlerContext) {
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeBytes(Outgoing.line(message))
        context.write(wrapOutboundOut(buffer), promise: nil)
        if tasks.isEmpty, !flushScheduled {
            context.flush()
            return
        }
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
