internal import CMalloc
import Glibc

/// The process's malloc heap (glibc) and CPU clock, for ``HeapScavengerPolicy``'s inputs and
/// action.
public enum ProcessHeap {
    /// Bytes malloc holds free (in every arena), which it has not returned to the system.
    public static func freeBytes() -> Int {
        Int(mallinfo2().fordblks)
    }

    /// Returns the free pages of every arena to the system (`malloc_trim(0)`: whole free pages
    /// inside the heaps are given back with `MADV_DONTNEED`, the tops are shrunk).
    public static func trim() {
        _ = malloc_trim(0)
    }

    /// CPU time this process has used, all threads (`CLOCK_PROCESS_CPUTIME_ID`).
    public static func cpuTime() -> Duration {
        var now = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now)
        return .seconds(now.tv_sec) + .nanoseconds(now.tv_nsec)
    }
}

/// When to give freed heap memory back to the system: glibc keeps what a burst freed (per-thread
/// arenas are not trimmed by themselves), so after a burst of requests an idle daemon would hold
/// megabytes it no longer uses. A pure state machine, decided on two readings per tick: the CPU
/// time the process used since the last tick, and the free bytes malloc holds.
///
/// - While the process is busy, ticks are short and nothing is trimmed (a trim takes the arena
///   locks, and the pages would be faulted back in at once).
/// - At the first quiet tick with at least ``minimumFreeBytes`` free, it trims once.
/// - Quiet with nothing (more) to give back, ticks grow long: an idle daemon wakes rarely.
public struct HeapScavengerPolicy: Sendable, Equatable {
    public enum Action: Sendable, Equatable {
        case trim
        case wait
    }

    /// The tick while the process is or was just busy.
    public let shortTick: Duration
    /// The tick while it is idle.
    public let longTick: Duration
    /// CPU time per short tick below which the process counts as quiet.
    public let quietCPU: Duration
    /// Free heap worth a trim.
    public let minimumFreeBytes: Int
    /// The tick to sleep before the next reading.
    public private(set) var tick: Duration

    public init(
        shortTick: Duration = .milliseconds(250), longTick: Duration = .seconds(5), quietCPU: Duration = .milliseconds(3),
        minimumFreeBytes: Int = 512 * 1024
    ) {
        self.shortTick = shortTick
        self.longTick = longTick
        self.quietCPU = quietCPU
        self.minimumFreeBytes = minimumFreeBytes
        self.tick = longTick
    }

    /// One tick's readings: the CPU time used since the previous reading and malloc's free bytes.
    public mutating func next(cpuUsed: Duration, freeBytes: Int) -> Action {
        // Scaled to the tick just slept: a long tick allows proportionally more background work.
        let threshold = quietCPU * (Double(tick / shortTick))
        guard cpuUsed < threshold else {
            tick = shortTick
            return .wait
        }
        if freeBytes >= minimumFreeBytes, tick == shortTick {
            tick = longTick
            return .trim
        }
        tick = longTick
        return .wait
    }
}
