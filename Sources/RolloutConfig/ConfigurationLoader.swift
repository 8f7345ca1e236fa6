import Glibc
public import RolloutCore
import RolloutSystem
import RolloutTOML

/// Finds, reads and validates the configuration file (SPEC §2).
///
/// Typical use at startup:
/// ```swift
/// let source = ConfigurationLoader.locate(
///     explicitPath: options.config, environment: ProcessEnvironment.variables(),
///     currentDirectory: Directories.current())
/// let config = try ConfigurationLoader.load(source, awsProviderCompiledIn: awsCompiledIn)
/// ```
/// Every problem in the file is reported at once, each naming the file, the key and what
/// is allowed.
public enum ConfigurationLoader {
    /// The environment variable that names the configuration file: `ROLLOUT_CONFIG`.
    public static let environmentVariable = "ROLLOUT_CONFIG"
    /// The file looked for in the working directory: `rollout.toml`.
    public static let defaultFileName = "rollout.toml"

    /// Decides where the configuration comes from: `explicitPath` (`--config PATH`), else
    /// `$ROLLOUT_CONFIG` when set and not empty, else `rollout.toml` in `currentDirectory`
    /// when it exists, else the built-in defaults.
    ///
    /// A named file is not checked here; if it is missing, ``load(_:awsProviderCompiledIn:)``
    /// says so rather than silently falling back. Named paths are kept as written, so that
    /// messages show them the way the user typed them.
    public static func locate(
        explicitPath: String?,
        environment: [String: String],
        currentDirectory: String
    ) -> ConfigSource {
        if let explicitPath {
            return .commandLine(path: explicitPath)
        }
        if let path = environment[environmentVariable], !path.isEmpty {
            return .environment(path: path)
        }
        let local =
            currentDirectory.hasSuffix("/")
            ? currentDirectory + defaultFileName
            : currentDirectory + "/" + defaultFileName
        if let info = try? Directories.status(local), info.st_mode & S_IFMT != S_IFDIR {
            return .workingDirectory(path: local)
        }
        return .defaults
    }

    /// Reads and validates the configuration from `source`; `.defaults` gives
    /// `Configuration.default`, which is always valid (its provider is `local`).
    ///
    /// - Parameter awsProviderCompiledIn: whether this build includes the AWS provider; when
    ///   `false`, `provider = "aws"` is a problem that says how to rebuild (SPEC §10).
    /// - Throws: every problem found: unreadable file, invalid TOML, unknown keys or tables,
    ///   wrong types, out-of-range values.
    public static func load(
        _ source: ConfigSource,
        awsProviderCompiledIn: Bool = true
    ) throws(ConfigurationError) -> Configuration {
        guard let path = source.path else { return .default }
        return try parse(toml: read(path), file: path, awsProviderCompiledIn: awsProviderCompiledIn)
    }

    /// Parses and validates configuration text; `file` names it in problem messages.
    public static func parse(
        toml: String,
        file: String,
        awsProviderCompiledIn: Bool = true
    ) throws(ConfigurationError) -> Configuration {
        let problems = ProblemList(file: file)
        guard !toml.utf8.contains(0) else {
            problems.add(nil, "invalid TOML: the file contains a NUL byte")
            throw ConfigurationError(problems: problems.problems)
        }
        let root: TOMLTable
        do {
            root = try TOMLTable(parsing: toml)
        } catch {
            problems.add(nil, "invalid TOML: \(error.message) (column \(error.column))", line: error.line)
            throw ConfigurationError(problems: problems.problems)
        }
        let config = Configuration(toml: root, problems: problems)
        problems.add(contentsOf: config.validationProblems(file: file, awsProviderCompiledIn: awsProviderCompiledIn))
        if !problems.problems.isEmpty {
            throw ConfigurationError(problems: problems.problems)
        }
        return config
    }

    /// Checks a configuration that is already built (for instance after
    /// `resolvingPaths(relativeTo:)`, which can make `server.socket` too long) against every
    /// rule of SPEC §2; `file` names it in the problems. Returns no problems when it is valid.
    ///
    /// `s3.bucket` and `sqs.queue_url` are deliberately optional even with
    /// `provider = "aws"`: a capability without its resource reports "not configured" when
    /// it is called, instead of the whole daemon refusing to start.
    public static func validate(
        _ config: Configuration,
        file: String,
        awsProviderCompiledIn: Bool
    ) -> [ConfigurationError.Problem] {
        config.validationProblems(file: file, awsProviderCompiledIn: awsProviderCompiledIn)
    }

    // MARK: - Helpers

    private static func read(_ path: String) throws(ConfigurationError) -> String {
        func unreadable(_ message: String) -> ConfigurationError {
            ConfigurationError(problems: [.init(file: path, key: nil, message: message)])
        }
        guard let info = try? Directories.status(path) else {
            throw unreadable("configuration file not found")
        }
        guard info.st_mode & S_IFMT != S_IFDIR else {
            throw unreadable("configuration path is a directory, not a file")
        }
        guard let data = try? FileDescriptor(path: path, flags: O_RDONLY).readToEnd(maxBytes: .max) else {
            throw unreadable("configuration file cannot be read (check its permissions)")
        }
        guard let text = String(validating: data, as: UTF8.self) else {
            throw unreadable("configuration file is not valid UTF-8")
        }
        return text
    }
}
