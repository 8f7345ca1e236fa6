import Synchronization

/// A flag set when the task that started a blocking job is cancelled, so the job, running on
/// a thread outside Swift concurrency (where `Task.isCancelled` cannot be asked), can stop
/// between chunks.
final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)

    /// A flag that is not set.
    init() {}

    /// Sets the flag.
    func cancel() {
        cancelled.store(true, ordering: .releasing)
    }

    /// Throws `CancellationError` once the flag is set.
    func check() throws(CancellationError) {
        if cancelled.load(ordering: .acquiring) { throw CancellationError() }
    }
}
