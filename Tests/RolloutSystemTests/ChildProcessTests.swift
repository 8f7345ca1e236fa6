import Foundation
import Glibc
import RolloutSystem
import Testing

@Suite("ChildProcess: spawn, collect stdout, limits, timeout of the whole process group")
struct ChildProcessTests {
    static let environment = ["PATH": "/usr/local/bin:/usr/bin:/bin"]

    static func run(
        _ script: String, timeout: Duration = .seconds(30), outputLimit: Int = 1 << 16, cancellation: CancellationFlag = CancellationFlag()
    ) async throws -> ChildProcess.Outcome {
        try await systemTestOffPool {
            try ChildProcess.run(
                ["sh", "-c", script], environment: environment, timeout: timeout, outputLimit: outputLimit, cancellation: cancellation)
        }
    }

    @Test("stdout is captured with the exit status; stderr is dropped; stdin is /dev/null")
    func captured() async throws {
        let outcome = try await Self.run("printf out; printf err >&2; cat; exit 3")
        #expect(outcome == .exited(status: 3, output: Array("out".utf8)))
        #expect(try await Self.run("printf %s \"$PATH\"") == .exited(status: 0, output: Array(Self.environment["PATH"]!.utf8)))
    }

    @Test("a program killed by a signal, one that cannot be started, and one already cancelled")
    func failures() async throws {
        #expect(try await Self.run("kill -TERM $$") == .signaled(SIGTERM))
        let cancelled = CancellationFlag()
        cancelled.cancel()
        #expect(try await Self.run("sleep 60", cancellation: cancelled) == .cancelled)
        do {
            _ = try await systemTestOffPool {
                try ChildProcess.run(
                    ["/nonexistent/program"], environment: [:], timeout: .seconds(5), outputLimit: 10, cancellation: CancellationFlag())
            }
            Issue.record("expected a SystemError")
        } catch let error as SystemError {
            #expect(error.code == ENOENT)
            #expect(error.description.contains("/nonexistent/program"))
        } catch {
            Issue.record("expected a SystemError, got \(error)")
        }
    }

    @Test("more output than the limit kills the program")
    func outputLimit() async throws {
        let started = ContinuousClock.now
        #expect(try await Self.run("while :; do printf 0123456789; done", outputLimit: 1000) == .outputTooLarge)
        #expect(ContinuousClock.now - started < .seconds(20))
    }

    @Test("the time limit kills the program and everything in its process group", arguments: [false, true])
    func timeout(closesPipes: Bool) async throws {
        let pidFile = NSTemporaryDirectory() + "rollout-child-" + UUID().uuidString
        defer { unlink(pidFile) }
        // The grandchild holds the pipes open, unless the shell points its output at /dev/null
        // first (then the pipes close and only the wait for the exit status is left).
        let redirect = closesPipes ? "exec >/dev/null 2>&1; " : ""
        let started = ContinuousClock.now
        let outcome = try await Self.run(redirect + "sleep 60 & echo $! > \(pidFile); wait", timeout: .seconds(3))
        #expect(outcome == .timedOut)
        #expect(ContinuousClock.now - started < .seconds(20))
        let grandchild = try #require(
            FileManager.default.contents(atPath: pidFile).flatMap { Int32(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) })
        // Gone, or a zombie waiting for init to reap it.
        var alive = true
        for _ in 0..<100 where alive {
            let stat = FileManager.default.contents(atPath: "/proc/\(grandchild)/stat").map { String(decoding: $0, as: UTF8.self) }
            alive = kill(grandchild, 0) == 0 && stat?.contains(") Z ") == false
            if alive { try await Task.sleep(for: .milliseconds(20)) }
        }
        #expect(!alive)
    }
}
