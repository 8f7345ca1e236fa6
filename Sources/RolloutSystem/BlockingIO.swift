import Dispatch

/// Runs blocking work (file I/O, synchronous SQLite, `/proc` reads) on libdispatch threads, off
/// Swift's cooperative thread pool, and hands the result back to the awaiting task.
///
/// Each job gets its own serial queue. Serial queues target libdispatch's overcommitting root
/// queue, which starts another thread when all of its threads are blocked, so a multi-GiB copy
/// never holds up a short job (a concurrent queue would be capped near the CPU count).
/// Cancelling the awaiting task sets the job's ``CancellationFlag``; jobs check it between
/// chunks.
public final class BlockingIO: Sendable {
    private let label: String

    /// Creates an executor whose threads carry `label`.
    public init(label: String) {
        self.label = label
    }

    /// Runs `job` on a dispatch thread and returns its result.
    public func run<Result: Sendable, Failure: Error>(
        _ job: @escaping @Sendable (CancellationFlag) throws(Failure) -> Result
    ) async throws(Failure) -> Result {
        let flag = CancellationFlag()
        let queue = DispatchQueue(label: label)
        let outcome: Swift.Result<Result, Failure> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                queue.async {
                    continuation.resume(returning: Swift.Result { () throws(Failure) -> Result in try job(flag) })
                }
            }
        } onCancel: {
            flag.cancel()
        }
        return try outcome.get()
    }
}
