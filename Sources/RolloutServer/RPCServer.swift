public import Logging
public import NIOCore
import NIOPosix
public import RolloutRPC
public import RolloutSystem
public import ServiceLifecycle
import Glibc
import Synchronization

/// The JSON-RPC server: serves a ``UnixListener`` until graceful shutdown, then stops
/// accepting, lets in-flight requests finish within the grace period, closes the remaining
/// connections and removes the socket file.
public final class RPCServer: Service, Sendable {
    /// Server settings, from `[server]`.
    public struct Settings: Sendable {
        /// `max_request_bytes`.
        public var maxRequestBytes: Int
        /// `max_inflight_per_connection`.
        public var maxInflightPerConnection: Int
        /// `max_batch_items`.
        public var maxBatchItems: Int
        /// Uids allowed besides root and the daemon's own.
        public var allowedUIDs: [UInt32]
        /// `shutdown_grace_secs`.
        public var shutdownGrace: Duration

        /// Creates settings.
        public init(
            maxRequestBytes: Int, maxInflightPerConnection: Int, maxBatchItems: Int, allowedUIDs: [UInt32],
            shutdownGrace: Duration
        ) {
            self.maxRequestBytes = maxRequestBytes
            self.maxInflightPerConnection = maxInflightPerConnection
            self.maxBatchItems = maxBatchItems
            self.allowedUIDs = allowedUIDs
            self.shutdownGrace = shutdownGrace
        }
    }

    private let listener: UnixListener
    private let shared: ServerShared
    private let group: any EventLoopGroup
    private let settings: Settings
    private let logger: Logger
    private let nextConnectionID = Atomic<UInt64>(0)
    private let onListening: @Sendable () -> Void

    /// Creates a server; nothing happens until ``run()``.
    public init(
        listener: UnixListener, dispatcher: Dispatcher, settings: Settings, logger: Logger,
        eventLoopGroup: any EventLoopGroup, onConnectionClosed: @escaping @Sendable (UInt64) -> Void,
        onListening: @escaping @Sendable () -> Void = {}
    ) {
        self.onListening = onListening
        self.listener = listener
        self.settings = settings
        self.logger = logger
        self.group = eventLoopGroup
        var allowed = Set(settings.allowedUIDs)
        allowed.insert(0)
        allowed.insert(getuid())
        self.shared = ServerShared(
            dispatcher: dispatcher, logger: logger, settings: settings, allowedUIDs: allowed,
            onConnectionClosed: onConnectionClosed
        )
    }

    /// Serves until graceful shutdown or cancellation.
    public func run() async throws {
        let shared = self.shared
        let maxRequestBytes = settings.maxRequestBytes
        let serverChannel = try await ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(ChannelOptions.autoRead, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let id = self.nextConnectionID.wrappingAdd(1, ordering: .relaxed).newValue
                    try channel.pipeline.syncOperations.addHandler(
                        ByteToMessageHandler(LineFramer(maxLineBytes: maxRequestBytes))
                    )
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(shared: shared, connectionID: id))
                }
            }
            .withBoundSocket(listener.descriptor)
            .get()
        logger.debug("listening", metadata: ["socket": "\(listener.path ?? "fd:\(listener.descriptor)")"])
        onListening()

        // `closeFuture.get()` does not end on task cancellation by itself (the service group
        // cancels its services when one of them fails): closing the channel ends it either way.
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                try? await serverChannel.closeFuture.get()
            } onGracefulShutdown: {
                serverChannel.close(promise: nil)
            }
        } onCancel: {
            serverChannel.close(promise: nil)
        }
        try? await serverChannel.close()
        await drain()
        listener.removeFiles()
        logger.info("server stopped")
    }

    /// How long cancelled requests get to answer -32800 themselves; any request still running
    /// then is answered on its behalf and left behind.
    static let cancellationTime: Duration = .milliseconds(500)
    /// How long the final answers get to reach a client before its connection is closed anyway.
    static let flushTime: TimeAmount = .milliseconds(300)

    /// Stops reading; lets requests run for the grace period; cancels what is left and gives
    /// it ``cancellationTime`` to answer; then every connection writes what it still owes
    /// (-32800), flushes for at most ``flushTime`` and closes. Nothing here waits on a request,
    /// so the server stops within `shutdown_grace_secs` + about 0.8 s whatever a request is
    /// blocked on.
    private func drain() async {
        await shared.startDraining()
        let inflight = shared.inflight
        let grace = settings.shutdownGrace
        logger.info("draining", metadata: ["inflight": "\(inflight.count)", "grace_s": "\(grace.components.seconds)"])
        if await !inflight.waitForZero(upTo: grace) {
            logger.warning("shutdown grace period over; cancelling requests", metadata: ["inflight": "\(inflight.count)"])
            await shared.cancelInflight()
            if await !inflight.waitForZero(upTo: Self.cancellationTime) {
                logger.warning(
                    "requests did not stop when cancelled; answering them -32800 and leaving them behind",
                    metadata: ["inflight": "\(inflight.count)"]
                )
            }
        }
        await shared.closeAll()
    }
}
