/// The release version of rolloutd and rolloutctl, one value for both binaries.
public enum RolloutVersion {
    /// The version reported by `sys.health`, `rolloutd --version` and `rolloutctl --version`.
    public static let current = "0.1.0"
}
