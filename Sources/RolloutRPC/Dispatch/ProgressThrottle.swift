internal import Synchronization

/// Admits at most one coalescible progress report per interval; others are always admitted.
final class ProgressThrottle: Sendable {
    private let minimumInterval: Duration
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    init(minimumInterval: Duration) {
        self.minimumInterval = minimumInterval
    }

    func admit(coalescible: Bool) -> Bool {
        let now = ContinuousClock.now
        return last.withLock { last in
            if coalescible, let previous = last, now - previous < minimumInterval {
                return false
            }
            last = now
            return true
        }
    }
}
