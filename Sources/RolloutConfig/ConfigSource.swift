/// Where the configuration comes from, as decided by
/// ``ConfigurationLoader/locate(explicitPath:environment:currentDirectory:)``.
public enum ConfigSource: Sendable, Hashable, CustomStringConvertible {
    /// The file given with `--config PATH`.
    case commandLine(path: String)
    /// The file named by `$ROLLOUT_CONFIG`.
    case environment(path: String)
    /// `rollout.toml` in the working directory.
    case workingDirectory(path: String)
    /// No file: the built-in defaults (`Configuration.default`).
    case defaults

    /// The file to read, or `nil` for the built-in defaults.
    public var path: String? {
        switch self {
        case .commandLine(let path), .environment(let path), .workingDirectory(let path): path
        case .defaults: nil
        }
    }

    /// Where the configuration came from, for logs: `"--config /etc/rollout.toml"`,
    /// `"$ROLLOUT_CONFIG=..."`, `"./rollout.toml"`, `"built-in defaults"`.
    public var description: String {
        switch self {
        case .commandLine(let path): "--config \(path)"
        case .environment(let path): "$\(ConfigurationLoader.environmentVariable)=\(path)"
        case .workingDirectory(let path): path
        case .defaults: "built-in defaults"
        }
    }
}
