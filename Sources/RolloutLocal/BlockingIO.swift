import Dispatch

/// Runs blocking work (file I/O, synchronous SQLite, `/proc` reads) on libdispatch threads, off
/// Swift's cooperative thread pool, and hands the result back to the awaiting task.
///
/// Each job gets its own serial queue. Serial queues target libdispatch's overcommitting root
/// queue, which starts another thread when all of its threads are blocked, so a multi-GiB copy
/// never holds up a short job (a concurrent queue would be capped near the CPU count).
/// Cancelling the awaiting task sets the job's ``CancellationFlag``; jobs check it between
/// chunks.
final class BlockingIO: Sendable {
    private let label: String

    /// Creates an executor whose threads carry `label`.
    init(label: String) {
        self.label = label
    }

    /// Runs `job` on a dispatch thread and returns its result.
    func run<Result: Sendable>(
        _ job: @escaping @Sendable (CancellationFlag) throws -> Result
    ) async throws -> Result {
        let flag = CancellationFlag()
        let queue = DispatchQueue(label: label)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                queue.async {
                    continuation.resume(with: Swift.Result { try job(flag) })
                }
            }
        } onCancel: {
            flag.cancel()
        }
    }
}
