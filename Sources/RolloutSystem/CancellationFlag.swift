import Synchronization

/// A flag set when the task that started a blocking job is cancelled, so the job, running on
/// a thread outside Swift concurrency (where `Task.isCancelled` cannot be asked), can stop
/// between chunks.
public final class CancellationFlag: Sendable {
    private let cancelled = Atomic(false)

    /// A flag that is not set.
    public init() {}

    /// Sets the flag.
    public func cancel() {
        cancelled.store(true, ordering: .releasing)
    }

    /// Whether the flag is set.
    public var isCancelled: Bool {
        cancelled.load(ordering: .acquiring)
    }

    /// Throws `CancellationError` once the flag is set.
    public func check() throws(CancellationError) {
        if isCancelled { throw CancellationError() }
    }
}
