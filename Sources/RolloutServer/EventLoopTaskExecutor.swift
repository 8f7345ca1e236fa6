import NIOCore

/// Runs request tasks on the connection's event loop thread.
///
/// Most requests are short (parse, a quick handler, serialize); starting their task where the
/// bytes arrived avoids two cross-thread wake-ups per request (event loop → cooperative pool →
/// event loop), which dominated `sys.ping` latency. Handlers that block must already hop off
/// (SQLite, file I/O and libcurl run on their own threads), so the loop is never held up.
final class EventLoopTaskExecutor: TaskExecutor, Sendable {
    private let eventLoop: any EventLoop

    init(_ eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        let executor = asUnownedTaskExecutor()
        eventLoop.execute {
            job.runSynchronously(on: executor)
        }
    }
}
