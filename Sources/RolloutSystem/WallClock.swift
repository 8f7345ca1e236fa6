import Glibc

/// The system's real-time clock (`CLOCK_REALTIME`): time since the Unix epoch, for timestamps
/// that leave the process (records, signatures, expiry times, log lines). It jumps when the
/// clock is set, so intervals and deadlines use `ContinuousClock` instead. Code that needs a
/// test seam takes a `() -> Double` whose default is ``seconds()``.
public enum WallClock {
    /// Now, since 1970-01-01T00:00:00Z, to the nanosecond.
    public static func sinceEpoch() -> Duration {
        let time = read()
        return .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec)
    }

    /// Now, in seconds since the epoch, with a fractional part.
    public static func seconds() -> Double {
        let time = read()
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    /// Now, in whole milliseconds since the epoch (rounded down).
    public static func milliseconds() -> Int64 {
        let time = read()
        return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec / 1_000_000)
    }

    private static func read() -> timespec {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return time
    }
}
