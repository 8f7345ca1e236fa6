import Logging
import NIOCore
import RolloutRPC
import Synchronization

/// State shared by every connection of one server: settings, the dispatcher, the set of open
/// channels and the global in-flight count that graceful shutdown waits on.
final class ServerShared: Sendable {
    let dispatcher: Dispatcher
    let logger: Logger
    let settings: RPCServer.Settings
    let inflight = InflightCounter()
    private let allowedUIDs: Set<UInt32>
    private let channels = Mutex<[UInt64: any Channel]>([:])
    private let draining = Atomic<Bool>(false)
    private let onConnectionClosed: @Sendable (UInt64) -> Void

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

    /// Whether the server stopped taking new requests (shutting down).
    var isDraining: Bool { draining.load(ordering: .relaxed) }

    /// Root, the daemon's own uid, and `allowed_uids` may connect.
    func isAllowed(uid: UInt32) -> Bool {
        allowedUIDs.contains(uid)
    }

    func register(_ id: UInt64, channel: any Channel) {
        channels.withLock { $0[id] = channel }
    }

    func unregister(_ id: UInt64) {
        let removed = channels.withLock { $0.removeValue(forKey: id) }
        if removed != nil { onConnectionClosed(id) }
    }

    /// Stops every connection from taking new requests.
    func startDraining() {
        draining.store(true, ordering: .relaxed)
        for channel in channels.withLock({ Array($0.values) }) {
            channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Closes every connection (cancelling whatever still runs).
    func closeAll() async {
        for channel in channels.withLock({ Array($0.values) }) {
            try? await channel.close()
        }
    }
}

/// Counts requests in flight across all connections; shutdown waits for zero.
final class InflightCounter: Sendable {
    private struct State {
        var count = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func increment() {
        state.withLock { $0.count += 1 }
    }

    func decrement() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.count -= 1
            guard state.count == 0 else { return [] }
            defer { state.waiters.removeAll() }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    var count: Int { state.withLock { $0.count } }

    /// Returns once nothing is in flight.
    func waitForZero() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> Bool in
                if state.count == 0 { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }
}
