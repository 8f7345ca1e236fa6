import RolloutSystem

/// Runs a test's blocking part (waiting for a child process, a busy loop racing another thread,
/// `usleep`) on a dispatch thread. Swift's cooperative pool has one thread per core (two on a
/// small CI machine): a test that blocks one there for seconds stalls the timers and long polls
/// of every test running beside it. Assertions stay in the test, on the values this returns.
func systemTestOffPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingIO(label: "systemtest-blocking").run { (_: CancellationFlag) throws -> T in try body() }
}
