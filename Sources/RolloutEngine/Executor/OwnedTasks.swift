import Synchronization

/// The tasks an engine (or one deployment's run loop) starts, so that none outlives it:
/// ``spawn(_:)`` starts one and keeps it until it ends; ``shutdown()`` refuses new ones,
/// cancels those running and returns once every one has ended.
///
/// Run loops, hooks, alarm polls, step timers and waiters' polls are unstructured because they
/// start and end at times no single scope sees (a hook posts its outcome to the run loop's
/// mailbox and ends); this keeps them owned all the same.
final class OwnedTasks: Sendable {
    private struct State {
        var isShutDown = false
        var nextId: UInt64 = 0
        /// Spawned and not ended.
        var live = 0
        var tasks: [UInt64: Task<Void, Never>] = [:]
        /// Ended before `spawn` stored their handle.
        var endedEarly: Set<UInt64> = []
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// The tasks spawned and not yet ended.
    var count: Int { state.withLock { $0.live } }

    /// True once ``shutdown()`` began.
    var isShutDown: Bool { state.withLock { $0.isShutDown } }

    /// Starts `operation` in a task of its own and keeps it until it ends; nil (nothing started)
    /// after ``shutdown()`` began. The handle lets the caller cancel it early.
    @discardableResult
    func spawn(_ operation: @escaping @Sendable () async -> Void) -> Task<Void, Never>? {
        let id: UInt64? = state.withLock { state in
            guard !state.isShutDown else { return nil }
            state.nextId += 1
            state.live += 1
            return state.nextId
        }
        guard let id else { return nil }
        let task = Task {
            await operation()
            self.ended(id)
        }
        let cancel: Bool = state.withLock { state in
            if state.endedEarly.remove(id) != nil { return false }
            state.tasks[id] = task
            return state.isShutDown
        }
        // shutdown() ran between the two locks and did not see this task.
        if cancel { task.cancel() }
        return task
    }

    /// Refuses new tasks, cancels the running ones and waits until every one has ended.
    func shutdown() async {
        let running = state.withLock { state in
            state.isShutDown = true
            return Array(state.tasks.values)
        }
        for task in running { task.cancel() }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state in
                if state.live == 0 { return true }
                state.idleWaiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }

    private func ended(_ id: UInt64) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { state in
            state.live -= 1
            if state.tasks.removeValue(forKey: id) == nil { state.endedEarly.insert(id) }
            guard state.live == 0 else { return [] }
            defer { state.idleWaiters = [] }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }
}
