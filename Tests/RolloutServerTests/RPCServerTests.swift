import Glibc
import Logging
import NIOCore
import NIOPosix
import RolloutCore
import RolloutRPC
@testable import RolloutServer
import RolloutSystem
import ServiceLifecycleTestKit
import Synchronization
import Testing

/// The server over a real Unix socket and event loop, for what the state machine cannot show.
@Suite("RPC server")
struct RPCServerTests {
    /// Where each handler call ran.
    final class Threads: Sendable {
        private let onEventLoop = Mutex<[Bool]>([])

        func record() {
            let onLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            onEventLoop.withLock { $0.append(onLoop) }
        }

        var calls: [Bool] { onEventLoop.withLock { $0 } }
    }

    /// A handler may block (stat, realpath): it must never run on an event loop thread, and
    /// its answer must still reach the client.
    @Test func requestHandlersRunOffTheEventLoop() async throws {
        let threads = Threads()
        var registry = MethodRegistry()
        registry.register(Ping.self) { _, _ in
            threads.record()
            return EmptyResult()
        }
        let lines = (1...3).map { #"{"jsonrpc":"2.0","id":\#($0),"method":"sys.ping"}"# }
        let batch = #"[{"jsonrpc":"2.0","id":4,"method":"sys.ping"},{"jsonrpc":"2.0","method":"sys.ping"}]"#
        let answers = try await Self.withServer(registry) { path, group in
            try await Self.exchange(lines + [batch], expecting: 4, path: path, group: group)
        }
        #expect(answers.count == 4)
        #expect(answers.allSatisfy { $0.contains(#""result":{}"#) })
        #expect(answers.contains { $0.hasPrefix("[") && $0.contains(#""id":4"#) })
        #expect(threads.calls == [false, false, false, false, false])
    }

    /// The service group cancels its services when one fails: the server must stop then too,
    /// not wait for a graceful shutdown that never comes (before, `run()` hung in
    /// `closeFuture.get()`, and only the daemon's exit watchdog ended the process).
    @Test func cancellingRunStopsTheServer() async throws {
        let directory = try Self.temporaryDirectory()
        defer { Self.remove(directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let listening = AsyncStream<Void>.makeStream()
        let server = try Self.makeServer(
            MethodRegistry(), path: directory + "/s.sock", group: group, onListening: { listening.continuation.finish() }
        )
        let running = Task { try await server.run() }
        for await _ in listening.stream {}
        let cancelled = ContinuousClock.now
        let took = Mutex<Duration?>(nil)
        running.cancel()
        // Not awaited: on the old code run() never returns, and the test must fail, not hang.
        Task {
            _ = try? await running.value
            took.withLock { $0 = ContinuousClock.now - cancelled }
        }
        for _ in 0..<400 where took.withLock({ $0 }) == nil {
            try await Task.sleep(for: .milliseconds(50))
        }
        let stoppedAfter = try #require(took.withLock { $0 }, "run() did not return within 20 s of its task being cancelled")
        #expect(stoppedAfter < .seconds(20))
        try await group.shutdownGracefully()
    }

    /// Runs an ``RPCServer`` on a socket in a fresh directory and one event loop thread, calls
    /// `body` with the socket path and the loop group, then shuts the server down gracefully.
    static func withServer<T: Sendable>(
        _ registry: MethodRegistry, _ body: @Sendable (String, any EventLoopGroup) async throws -> T
    ) async throws -> T {
        let directory = try temporaryDirectory()
        defer { remove(directory) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let path = directory + "/s.sock"
        let server = try makeServer(registry, path: path, group: group)
        let result = try await testGracefulShutdown { trigger in
            try await withThrowingTaskGroup(of: T?.self) { tasks in
                tasks.addTask {
                    try await server.run()
                    return nil
                }
                let result = try await body(path, group)
                trigger.triggerGracefulShutdown()
                try await tasks.waitForAll()
                return result
            }
        }
        try await group.shutdownGracefully()
        return result
    }

    /// A fresh directory under /tmp for a socket.
    static func temporaryDirectory() throws -> String {
        var template = Array("/tmp/rolloutd-server-XXXXXX".utf8CString)
        return try #require(template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }.map { String(cString: $0) })
    }

    /// Removes the directory of ``temporaryDirectory()`` with the socket and lock in it.
    static func remove(_ directory: String) {
        unlink(directory + "/s.sock")
        unlink(directory + "/s.sock.lock")
        rmdir(directory)
    }

    /// A server on `path` with small limits and a 1 s grace period.
    static func makeServer(
        _ registry: MethodRegistry, path: String, group: any EventLoopGroup, onListening: @escaping @Sendable () -> Void = {}
    ) throws -> RPCServer {
        let logger = Logger(label: "test")
        return RPCServer(
            listener: try UnixListener.bind(path: path, mode: 0o600),
            dispatcher: Dispatcher(registry: registry, idempotency: nil, logger: logger),
            settings: .init(
                maxRequestBytes: 1 << 20, maxInflightPerConnection: 4, maxBatchItems: 10, allowedUIDs: [],
                shutdownGrace: .seconds(1)
            ),
            logger: logger, eventLoopGroup: group, onConnectionClosed: { _ in }, onListening: onListening
        )
    }

    /// Sends `lines` on one connection and returns the first `count` lines that come back.
    static func exchange(_ lines: [String], expecting count: Int, path: String, group: any EventLoopGroup) async throws -> [String] {
        let channel = try await ClientBootstrap(group: group).connect(unixDomainSocketPath: path) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineFramer(maxLineBytes: 1 << 20)))
                return try NIOAsyncChannel<FramedLine, ByteBuffer>(wrappingChannelSynchronously: channel)
            }
        }
        return try await channel.executeThenClose { inbound, outbound in
            for line in lines {
                try await outbound.write(ByteBuffer(string: line + "\n"))
            }
            var answers: [String] = []
            for try await framed in inbound {
                if case .line(let buffer) = framed { answers.append(String(buffer: buffer)) }
                if answers.count == count { break }
            }
            return answers
        }
    }
}
