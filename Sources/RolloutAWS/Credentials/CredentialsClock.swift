import RolloutSystem

/// The wall clock the credential code reads unless a test injects another: seconds since the
/// epoch, the unit of ``AWSSigV4/AWSCredentials/expiration``.
public enum CredentialsClock {
    /// Now, in seconds since 1970-01-01T00:00:00Z, with a fractional part.
    @Sendable public static func now() -> Double {
        WallClock.seconds()
    }

    /// Whole seconds since the epoch, for default role session names (`rolloutd-<epoch>`).
    static func epochSeconds() -> Int64 {
        Int64(now().rounded(.down))
    }
}
