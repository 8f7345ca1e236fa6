import RolloutCore
import RolloutSystem

/// RFC 3339 UTC timestamps with milliseconds (`2026-11-22T19:15:45.123Z`).
enum Timestamp {
    static func now() -> String {
        RFC3339.format(milliseconds: WallClock.milliseconds())
    }

    /// Seconds since the epoch as RFC 3339 UTC.
    static func rfc3339(_ epochSeconds: Double) -> String {
        RFC3339.format(seconds: epochSeconds)
    }
}
