import Glibc
import RolloutCore

/// Wall-clock time as the local provider stores it (seconds since the Unix epoch) and shows it
/// (RFC 3339 UTC with milliseconds, `2026-11-22T19:15:45.123Z`).
enum WallClock {
    /// Now, in seconds since the epoch.
    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1_000_000_000
    }

    /// Now, in whole milliseconds since the epoch.
    static func nowMilliseconds() -> Int64 {
        Int64((now() * 1000).rounded(.down))
    }

    /// `seconds` since the epoch as RFC 3339 UTC with milliseconds.
    static func rfc3339(seconds: Double) -> String {
        RFC3339.format(seconds: seconds)
    }

    /// `milliseconds` since the epoch as RFC 3339 UTC with milliseconds.
    static func rfc3339(milliseconds: Int64) -> String {
        RFC3339.format(milliseconds: milliseconds)
    }
}
