import Foundation
import Glibc
import RolloutSystem
import Synchronization
import Testing

/// Counts SIGUSR1 deliveries; the handler is a C function and can reach only globals.
private let interrupts = Atomic<Int>(0)

/// What the reading thread shares with the test.
private final class ReaderState: Sendable {
    let thread = Mutex<pthread_t?>(nil)
    let result = Mutex<Result<[UInt8]?, SystemError>?>(nil)
}

@Suite("FileDescriptor: reads and writes that survive signals, borrowed descriptors", .serialized)
struct FileDescriptorTests {
    @Test("a read interrupted by a signal (EINTR, no SA_RESTART) is retried, not reported")
    func interruptedRead() async throws {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in interrupts.add(1, ordering: .relaxed) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        var previous = sigaction()
        #expect(sigaction(SIGUSR1, &action, &previous) == 0)
        defer { sigaction(SIGUSR1, &previous, nil) }

        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0 && fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0)  // close-on-exec: a child another test spawns must not hold the write end (no EOF: a hang)
        let reader = FileDescriptor(adopting: ends[0], path: "pipe")
        let state = ReaderState()
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            // Threads started from Swift concurrency inherit a mask that blocks signals.
            var unblock = sigset_t()
            sigemptyset(&unblock)
            sigaddset(&unblock, SIGUSR1)
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            state.thread.withLock { $0 = pthread_self() }
            let result = Result { () throws(SystemError) -> [UInt8]? in try reader.readToEnd(maxBytes: 1024) }
            state.result.withLock { $0 = result }
            done.signal()
        }
        var target: pthread_t?
        while target == nil {
            try await Task.sleep(for: .milliseconds(1))
            target = state.thread.withLock { $0 }
        }
        let before = interrupts.load(ordering: .relaxed)
        for _ in 0..<10 {
            try await Task.sleep(for: .milliseconds(10))
            pthread_kill(target!, SIGUSR1)
        }
        _ = "hello".withCString { write(ends[1], $0, 5) }
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(10))
            pthread_kill(target!, SIGUSR1)
        }
        close(ends[1])
        let finished = try await systemTestOffPool { done.wait(timeout: .now() + 30) == .success }
        #expect(finished, "the reader never saw EOF")
        // Signals sent while one is pending merge into one delivery, so under load fewer arrive.
        #expect(interrupts.load(ordering: .relaxed) > before)
        #expect(try state.result.withLock { $0 }?.get() == Array("hello".utf8))
    }

    @Test("a borrowed descriptor stays open when the object goes away")
    func borrowed() throws {
        var ends: [Int32] = [-1, -1]
        #expect(pipe(&ends) == 0 && fcntl(ends[0], F_SETFD, FD_CLOEXEC) == 0 && fcntl(ends[1], F_SETFD, FD_CLOEXEC) == 0)  // close-on-exec: a child another test spawns must not hold the write end (no EOF: a hang)
        defer { close(ends[0]) }
        do {
            let writer = FileDescriptor(borrowing: ends[1], path: "pipe")
            try Array("abc".utf8).withUnsafeBytes { try writer.write($0) }
        }
        #expect(fcntl(ends[1], F_GETFD) >= 0)
        close(ends[1])
        let reader = FileDescriptor(borrowing: ends[0], path: "pipe")
        #expect(try reader.readToEnd(maxBytes: 2) == nil)
    }
}
