import Glibc
import Logging
import RolloutSystem
import ServiceLifecycle

/// The backstop behind SPEC §6's promise that the daemon exits within `shutdown_grace_secs`
/// + 2 s of SIGTERM, whatever a request is blocked on.
///
/// The normal path keeps the promise by itself: the server answers and closes without waiting
/// on requests, and the service group cancels whatever still runs 1.5 s after the grace period.
/// Should the exit still be held up (say, by a thread stuck in a system call nothing can
/// interrupt), this logs it loudly, runs `beforeExit` (removing the socket) and ends the
/// process with status 0 once `limit` has passed since shutdown began.
///
/// It must be the group's last service: services shut down in reverse order, so it is told
/// first and arms the moment shutdown begins.
struct ShutdownWatchdog: Service {
    let limit: Duration
    let logger: Logger
    let beforeExit: @Sendable () -> Void

    func run() async throws {
        // Returns when shutdown begins; throws when the group is cancelled, which ends the
        // daemon as well, so the watchdog arms either way.
        try? await gracefulShutdown()
        let limit = self.limit
        let logger = self.logger
        let beforeExit = self.beforeExit
        // A thread of its own, so it fires even when every thread of the cooperative pool is stuck.
        do {
            try DetachedThread.start {
                DetachedThread.sleep(for: limit)
                let parts = limit.components
                logger.critical(
                    "shutdown did not finish in time; exiting without waiting for it",
                    metadata: ["limit_ms": "\(parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)"]
                )
                beforeExit()
                _exit(0)
            }
        } catch {
            logger.error("cannot arm the shutdown watchdog", metadata: ["error": "\(error)"])
        }
    }
}
