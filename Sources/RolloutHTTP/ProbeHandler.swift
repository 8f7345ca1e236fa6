import NIOCore
import NIOHTTP1

/// Answers one HTTP/1.1 connection's requests, one at a time (NIO's pipeline handler holds
/// back pipelined requests until the previous answer is written). Runs on the channel's event
/// loop; only the readiness check leaves it, as a task whose answer is written back on the loop.
final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: ProbeRoutes
    private var request: HTTPRequestHead?

    init(routes: ProbeRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            request = head
        case .body:
            break
        case .end:
            guard let head = request else { return }
            request = nil
            switch routes.route(method: head.method, uri: head.uri) {
            case .now(let response):
                write(response, for: head, context: context)
            case .readiness:
                let routes = self.routes
                let promise = context.eventLoop.makePromise(of: ProbeRoutes.Response.self)
                promise.completeWithTask { await routes.readinessResponse() }
                promise.futureResult.assumeIsolated().whenSuccess { response in
                    self.write(response, for: head, context: context)
                }
            }
        }
    }

    private func write(_ response: ProbeRoutes.Response, for head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: "\(response.body.count)")
        if let allow = response.allow { headers.add(name: "Allow", value: allow) }
        let keepAlive = head.isKeepAlive
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let responseHead = HTTPResponseHead(version: head.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(responseHead)), promise: nil)
        if head.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        let done = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: done)
        if !keepAlive {
            done.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
