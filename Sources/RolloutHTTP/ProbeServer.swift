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
    private let address: Configuration.ListenAddress
    private let routes: ProbeRoutes
    private let group: any EventLoopGroup
    private let logger: Logger
    private let connections = Mutex(Connections())

    private struct Connections {
        var open: [ObjectIdentifier: any Channel] = [:]
        var closed = false
    }

    /// A listener on `address`; nothing happens until ``run()``.
    public init(
        address: Configuration.ListenAddress, exporter: MetricsExporter, readiness: Readiness, logger: Logger,
        eventLoopGroup: any EventLoopGroup
    ) {
        self.address = address
        self.routes = ProbeRoutes(exporter: exporter, readiness: readiness)
        self.group = eventLoopGroup
        self.logger = logger
    }

    /// Serves until graceful shutdown or cancellation; throws when the address cannot be bound.
    public func run() async throws {
        let routes = self.routes
        let serverChannel: any Channel
        do {
            serverChannel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 64)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        guard self.track(channel) else { throw ChannelError.ioOnClosedChannel }
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                        try channel.pipeline.syncOperations.addHandler(ProbeHandler(routes: routes))
                    }
                }
                .bind(host: address.host, port: address.port)
                .get()
        } catch {
            throw ProbeServerError(description: "[server.http] listen = \"\(address)\": cannot listen: \(error)")
        }
        logger.info("http listening", metadata: ["http.listen": "\(address)", "http.bound": "\(serverChannel.localAddress.map { "\($0)" } ?? "?")"])

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
        let open = connections.withLock { state in
            state.closed = true
            return Array(state.open.values)
        }
        for channel in open { channel.close(promise: nil) }
        for channel in open { try? await channel.closeFuture.get() }
        logger.info("http stopped")
    }

    /// Adds a connection to those closed at shutdown; false once shutdown closed them.
    private func track(_ channel: any Channel) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = connections.withLock { state in
            guard !state.closed else { return false }
            state.open[id] = channel
            return true
        }
        guard admitted else { return false }
        channel.closeFuture.whenComplete { _ in
            _ = self.connections.withLock { $0.open.removeValue(forKey: id) }
        }
        return true
    }
}

/// Why the metrics and probe listener could not start.
public struct ProbeServerError: Error, Sendable, CustomStringConvertible {
    /// The message for the operator.
    public var description: String
}
