import Logging
import RolloutSystem
import ServiceLifecycle

/// Gives the heap a burst of requests freed back to the system once the daemon is quiet again
/// (``HeapScavengerPolicy``): glibc keeps it otherwise, and an idle sidecar would hold the
/// high-water mark of its last burst (2.4 MiB after 8 connections of pipelined pings, measured).
struct HeapScavenger: Service {
    let logger: Logger

    func run() async throws {
        var policy = HeapScavengerPolicy()
        var lastCPU = ProcessHeap.cpuTime()
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            let tick = policy.tick
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: tick) }
            guard !Task.isShuttingDownGracefully, !Task.isCancelled else { return }
            let cpu = ProcessHeap.cpuTime()
            let free = ProcessHeap.freeBytes()
            if policy.next(cpuUsed: cpu - lastCPU, freeBytes: free) == .trim {
                ProcessHeap.trim()
                logger.debug("returned free heap to the system", metadata: ["freeBytes": "\(free)"])
            }
            // After the trim, so its own CPU time does not count as activity.
            lastCPU = ProcessHeap.cpuTime()
        }
    }
}
