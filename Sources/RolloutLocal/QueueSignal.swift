import Synchronization

/// Wakes long-polling receivers when the queue changes (a send, an ack that may unblock a
/// message group, a visibility change).
///
/// A receiver subscribes *before* it looks at the table, so a change that lands between the
/// look and the wait is not lost: the subscription's stream buffers it.
final class QueueSignal: Sendable {
    private struct State {
        var nextID = 0
        var subscribers: [Int: AsyncStream<Void>.Continuation] = [:]
    }

    private let state = Mutex(State())

    /// No subscribers yet.
    init() {}

    /// Wakes every current subscriber.
    func notify() {
        let subscribers = state.withLock { Array($0.subscribers.values) }
        for subscriber in subscribers {
            subscriber.yield()
        }
    }

    /// Starts listening for changes.
    func subscribe() -> Subscription {
        let (stream, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            return id
        }
        return Subscription(signal: self, id: id, stream: stream)
    }

    private func unsubscribe(_ id: Int) {
        let continuation = state.withLock { $0.subscribers.removeValue(forKey: id) }
        continuation?.finish()
    }

    /// One receiver's interest in changes; ends when it goes away.
    final class Subscription: Sendable {
        private let signal: QueueSignal
        private let id: Int
        private let stream: AsyncStream<Void>

        fileprivate init(signal: QueueSignal, id: Int, stream: AsyncStream<Void>) {
            self.signal = signal
            self.id = id
            self.stream = stream
        }

        deinit {
            signal.unsubscribe(id)
        }

        /// Returns when a change was signalled since subscribing, when `timeout` has passed,
        /// or when the task is cancelled, whichever comes first.
        func wait(timeout: Duration) async {
            let stream = stream
            await withTaskGroup(of: Void.self) { group in
                group.addTask {
                    for await _ in stream { return }
                }
                group.addTask {
                    try? await Task.sleep(for: timeout)
                }
                _ = await group.next()
                group.cancelAll()
            }
        }
    }
}
