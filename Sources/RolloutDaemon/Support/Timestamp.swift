import Glibc
import RolloutCore

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T19:15:45.123Z`).
enum Timestamp {
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return RFC3339.format(milliseconds: Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec / 1_000_000))
    }

    /// Seconds since the epoch as RFC 3339 UTC.
    static func rfc3339(_ epochSeconds: Double) -> String {
        RFC3339.format(seconds: epochSeconds)
    }
}
