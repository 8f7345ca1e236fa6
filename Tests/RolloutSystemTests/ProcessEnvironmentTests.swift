import Glibc
import RolloutSystem
import Synchronization
import Testing

@Suite("process environment and detached threads")
struct ProcessEnvironmentTests {
    @Test("variables() holds what getenv finds, values with '=' kept whole")
    func variables() {
        #expect(setenv("ROLLOUT_TEST_ENVIRONMENT", "a=b=c", 1) == 0)
        defer { unsetenv("ROLLOUT_TEST_ENVIRONMENT") }
        let variables = ProcessEnvironment.variables()
        #expect(variables["ROLLOUT_TEST_ENVIRONMENT"] == "a=b=c")
        #expect(variables["PATH"] == getenv("PATH").map { String(cString: $0) })
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
            #expect(ContinuousClock.now - started < .seconds(10))
        }
        #expect(try #require(ran.withLock { $0 }) - started >= .milliseconds(50))
    }
}
