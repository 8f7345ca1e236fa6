import Logging
import Metrics
import NIOCore
import RolloutCore
import RolloutRPC
import Synchronization

/// State shared by every connection of one server: settings, the dispatcher, the open
/// connections and the global in-flight count that graceful shutdown waits on.
final class ServerShared: Sendable {
    let dispatcher: Dispatcher
    let logger: Logger
    let settings: RPCServer.Settings
    let inflight = InflightCounter()
    private let allowedUIDs: Set<UInt32>
    private let connections = Mutex(Connections())
    private let onConnectionClosed: @Sendable (UInt64) -> Void
    private let openConnections = Meter(label: MetricName.rpcConnections)

    /// An admitted connection: its channel, and its handler for the shutdown steps (both used
    /// only on the channel's event loop).
    struct Connection: Sendable {
        var channel: any Channel
        var handler: NIOLoopBound<ConnectionHandler>
    }

    private struct Connections {
        var open: [UInt64: Connection] = [:]
        var closedForNewOnes = false
    }

    init(
        dispatcher: Dispatcher, logger: Logger, settings: RPCServer.Settings, allowedUIDs: Set<UInt32>,
        onConnectionClosed: @escaping @Sendable (UInt64) -> Void
    ) {
        self.dispatcher = dispatcher
        self.logger = logger
        self.settings = settings
        self.allowedUIDs = allowedUIDs
        self.onConnectionClosed = onConnectionClosed
    }

    /// Root, the daemon's own uid, and `allowed_uids` may connect.
    func isAllowed(uid: UInt32) -> Bool {
        allowedUIDs.contains(uid)
    }

    /// Adds an admitted connection; false once draining started (the caller then ends it
    /// itself, as the shutdown steps will not reach it).
    func register(_ id: UInt64, _ connection: Connection) -> Bool {
        connections.withLock { state in
            guard !state.closedForNewOnes else { return false }
            state.open[id] = connection
            openConnections.increment()
            return true
        }
    }

    func unregister(_ id: UInt64) {
        let removed = connections.withLock { $0.open.removeValue(forKey: id) }
        if removed != nil {
            openConnections.decrement()
            onConnectionClosed(id)
        }
    }

    /// Shutdown, step 1: no connection admitted from now on, and every open one stops reading
    /// and starting requests (done on each event loop before this returns); requests already
    /// running go on.
    func startDraining() async {
        let open = connections.withLock { state in
            state.closedForNewOnes = true
            return Array(state.open.values)
        }
        await Self.onEach(open) { $0.shutdownBegan() }
    }

    /// Shutdown, step 2 (the grace period is over): cancels every running request; each
    /// answers -32800 as it stops.
    func cancelInflight() async {
        await Self.onEach(connections.withLock { Array($0.open.values) }) { $0.graceExpired() }
    }

    /// Shutdown, step 3: every connection writes the answers it still owes (-32800 for
    /// requests that did not stop), flushes them for at most ``RPCServer/flushTime``, and closes.
    func closeAll() async {
        let open = connections.withLock { Array($0.open.values) }
        await Self.onEach(open) { $0.closeForShutdown() }
        for connection in open {
            try? await connection.channel.closeFuture.get()
        }
    }

    /// Runs `body` on each connection's handler, on its event loop; returns once all ran.
    private static func onEach(_ open: [Connection], _ body: @escaping @Sendable (ConnectionHandler) -> Void) async {
        let done = open.map { connection in
            let handler = connection.handler
            return connection.channel.eventLoop.submit { body(handler.value) }
        }
        for future in done {
            try? await future.get()
        }
    }
}

/// Counts requests in flight across all connections; shutdown waits for zero.
final class InflightCounter: Sendable {
    private struct State {
        var count = 0
        var nextWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
    }

    private let state = Mutex(State())
    /// The same count as a gauge; a meter's own atomic keeps it off the lock.
    private let gauge = Meter(label: MetricName.rpcInflight)

    func increment() {
        state.withLock { $0.count += 1 }
        gauge.increment()
    }

    func decrement() {
        gauge.decrement()
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.count } }

    /// Waits until nothing is in flight, for at most `limit`: true when the count reached zero,
    /// false when the time ran out or the calling task was cancelled first.
    func waitForZero(upTo limit: Duration) async -> Bool {
        if count == 0 { return true }
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                await self.waitForZero()
                return !Task.isCancelled
            }
            group.addTask {
                try? await Task.sleep(for: limit)
                return false
            }
            let first = await group.next() ?? false
            // Both children end promptly when cancelled, so leaving the group never waits on a
            // request that is still running.
            group.cancelAll()
            return first
        }
    }

    /// Returns once nothing is in flight, or as soon as the calling task is cancelled.
    private func waitForZero() async {
        let waiter = state.withLock { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state -> Bool in
                    if state.count == 0 || Task.isCancelled { return true }
                    state.waiters[waiter] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let continuation = state.withLock { $0.waiters.removeValue(forKey: waiter) }
            continuation?.resume()
        }
    }
}
