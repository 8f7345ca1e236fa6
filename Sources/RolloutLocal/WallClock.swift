import Glibc

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
        rfc3339(milliseconds: Int64((seconds * 1000).rounded(.down)))
    }

    /// `milliseconds` since the epoch as RFC 3339 UTC with milliseconds.
    static func rfc3339(milliseconds: Int64) -> String {
        var seconds = time_t(milliseconds.floorDivided(by: 1000))
        let millis = Int(milliseconds - Int64(seconds) * 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return "\(pad(Int(parts.tm_year) + 1900, 4))-\(pad(Int(parts.tm_mon) + 1, 2))-\(pad(Int(parts.tm_mday), 2))"
            + "T\(pad(Int(parts.tm_hour), 2)):\(pad(Int(parts.tm_min), 2)):\(pad(Int(parts.tm_sec), 2))"
            + ".\(pad(millis, 3))Z"
    }

    private static func pad(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, width - digits.count)) + digits
    }
}

extension Int64 {
    /// Division rounding towards negative infinity.
    fileprivate func floorDivided(by divisor: Int64) -> Int64 {
        let (quotient, remainder) = quotientAndRemainder(dividingBy: divisor)
        return remainder < 0 ? quotient - 1 : quotient
    }
}
