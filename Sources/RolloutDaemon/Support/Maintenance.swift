import Logging
import RolloutStore
import ServiceLifecycle

/// Periodic housekeeping: expired idempotency records are deleted every hour.
struct Maintenance: Service {
    let idempotency: IdempotencyRecords
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(3600)) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            do {
                let removed = try await idempotency.collectGarbage()
                logger.debug("idempotency records expired", metadata: ["count": "\(removed)"])
            } catch {
                logger.warning("idempotency garbage collection failed", metadata: ["error": "\(error)"])
            }
        }
    }
}
