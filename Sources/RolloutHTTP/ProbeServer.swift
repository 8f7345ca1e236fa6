public import Logging
public import NIOCore
import NIOHTTP1
import NIOPosix
public import RolloutCore
public import ServiceLifecycle
import Synchronization

/// The HTTP/1.1 listener of `[server.http] listen` (SPEC §6.1): `/metrics`, `/livez`,
/// `/readyz`. It keeps serving while the RPC server drains (so `/readyz` can say so) and stops
/// when graceful shutdown reaches it: the listening socket closes and open connections are
/// closed, none of which waits on a request.
public final class ProbeServer: Service, Sendable {
    private let serverChannel: any Channel
    private let logger: Logger
    private let connections: Connections

    /// The open connections, closed at shutdown; none is admitted once that began.
    private final class Connections: Sendable {
        private struct State {
            var open: [ObjectIdentifier: any Channel] = [:]
            var closed = false
        }

        private let state = Mutex(State())

        /// Adds `channel`; false once shutdown closed them.
        func track(_ channel: any Channel) -> Bool {
            let id = ObjectIdentifier(channel)
            let admitted = state.withLock { state in
                guard !state.closed else { return false }
                state.open[id] = channel
                return true
            }
            guard admitted else { return false }
            channel.closeFuture.whenComplete { _ in
                _ = self.state.withLock { $0.open.removeValue(forKey: id) }
            }
            return true
        }

        /// Stops admitting and returns what is open.
        func closeAll() -> [any Channel] {
            state.withLock { state in
                state.closed = true
                return Array(state.open.values)
            }
        }
    }

    private init(serverChannel: any Channel, logger: Logger, connections: Connections) {
        self.serverChannel = serverChannel
        self.logger = logger
        self.connections = connections
    }

    /// Binds `address` at startup, so that a taken port is a startup error; serving starts in
    /// ``run()``. Accepted connections are answered right away (`/readyz` says "starting" until
    /// `readiness` is marked ready).
    public static func bind(
        address: Configuration.ListenAddress, exporter: MetricsExporter, readiness: Readiness, logger: Logger,
        eventLoopGroup: any EventLoopGroup
    ) async throws -> ProbeServer {
        let routes = ProbeRoutes(exporter: exporter, readiness: readiness)
        let connections = Connections()
        let serverChannel: any Channel
        do {
            let socketAddress = try socketAddress(of: address)
            serverChannel = try await ServerBootstrap(group: eventLoopGroup)
                .serverChannelOption(ChannelOptions.backlog, value: 64)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard connections.track(channel) else { throw ChannelError.ioOnClosedChannel }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ProbeHandler(routes: routes))
                    }
                }
                .bind(to: socketAddress)
                .get()
        } catch {
            throw ProbeServerError(description: "[server.http] listen = \"\(address)\": cannot listen: \(error)")
        }
        logger.info("http listening", metadata: ["http.listen": "\(address)"])
        return ProbeServer(serverChannel: serverChannel, logger: logger, connections: connections)
    }

    /// The socket address of `address` without a resolver: the configuration allows only IP
    /// literals and `localhost` (the IPv4 loopback), and `getaddrinfo` would open a netlink
    /// socket (AI_ADDRCONFIG), which the systemd unit's RestrictAddressFamilies= refuses.
    static func socketAddress(of address: Configuration.ListenAddress) throws -> SocketAddress {
        let host = address.host == "localhost" ? "127.0.0.1" : address.host
        return try SocketAddress(ipAddress: host, port: address.port)
    }

    /// Serves until graceful shutdown or cancellation, then closes the socket and every open
    /// connection.
    public func run() async throws {
        let serverChannel = self.serverChannel
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
        let open = connections.closeAll()
        for channel in open { channel.close(promise: nil) }
        for channel in open { try? await channel.closeFuture.get() }
        logger.info("http stopped")
    }
}
/// Why the metrics and probe listener could not start.
public struct ProbeServerError: Error, Sendable, CustomStringConvertible {
    /// The message for the operator.
    public var description: String
}
