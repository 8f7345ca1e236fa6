import Glibc
@testable import RolloutSystem
import Synchronization
import Testing

@Suite("process environment and detached threads")
struct ProcessEnvironmentTests {
    @Test("variables() holds what getenv finds; values with '=' stay whole, the first of a name wins")
    func variables() {
        // No setenv here: it races with the other tests' threads reading the environment.
        #expect(ProcessEnvironment.variables()["PATH"] == getenv("PATH").map { String(cString: $0) })
        let parsed = ProcessEnvironment.variables(from: ["A=b=c", "EMPTY=", "NOEQUALS", "A=second"])
        #expect(parsed == ["A": "b=c", "EMPTY": ""])
    }

    @Test("the host name and process id are the system's")
    func identity() {
        #expect(!ProcessEnvironment.hostName().isEmpty)
        #expect(ProcessEnvironment.processID == getpid())
    }

    @Test("a detached thread runs its body after sleeping")
    func detachedThread() async throws {
        let started = ContinuousClock.now
        let ran = Mutex<ContinuousClock.Instant?>(nil)
        try DetachedThread.start {
            DetachedThread.sleep(for: .milliseconds(50))
            ran.withLock { $0 = .now }
        }
        while ran.withLock({ $0 }) == nil {
            try await Task.sleep(for: .milliseconds(10))
            try #require(ContinuousClock.now - started < .seconds(60), "the thread never ran")
        }
        #expect(try #require(ran.withLock { $0 }) - started >= .milliseconds(50))
    }
}
