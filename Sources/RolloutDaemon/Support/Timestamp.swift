import Glibc

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T19:15:45.123Z`).
enum Timestamp {
    static func now() -> String {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return format(seconds: spec.tv_sec, millis: spec.tv_nsec / 1_000_000)
    }

    /// Seconds since the epoch as RFC 3339 UTC.
    static func rfc3339(_ epochSeconds: Double) -> String {
        format(seconds: Int(epochSeconds), millis: Int(epochSeconds * 1000) % 1000)
    }

    private static func format(seconds epoch: Int, millis: Int) -> String {
        var seconds = epoch
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int32, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
