/// `rolloutd`'s command line, parsed by hand: four options do not need ArgumentParser, whose
/// code and reflection metadata were about half a MiB of the idle daemon's resident memory.
public enum DaemonCommandLine: Equatable, Sendable {
    /// Start the daemon (or, with `fleetInit`, create the fleet table and exit).
    case run(Options)
    /// `--help`/`-h`: print ``usage`` and exit 0.
    case help
    /// `--version`: print the version and exit 0.
    case version

    public struct Options: Equatable, Sendable {
        public var config: String?
        public var logLevel: String?
        public var fleetInit = false
        public var fleetTable: String?

        public init(config: String? = nil, logLevel: String? = nil, fleetInit: Bool = false, fleetTable: String? = nil) {
            self.config = config
            self.logLevel = logLevel
            self.fleetInit = fleetInit
            self.fleetTable = fleetTable
        }
    }

    /// A command line that cannot be used; the message names the argument. Exit status 64
    /// (EX_USAGE), as ArgumentParser used.
    public struct UsageError: Error, Equatable, Sendable, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    public static let usage = """
        OVERVIEW: Serve S3, SQS, Secrets Manager, IMDS and Lambda rollouts over JSON-RPC 2.0 on a Unix socket.

        USAGE: rolloutd [--config <config>] [--log-level <log-level>]

        OPTIONS:
          --config <config>       Configuration file (else $ROLLOUT_CONFIG, else ./rollout.toml, else defaults).
          --log-level <log-level> Log level: trace, debug, info, notice, warning, error, critical (else [server]
                                  log_level, else info).
          --version               Show the version.
          -h, --help              Show help information.

        """

    /// Parses the arguments after the program name. `--name value` and `--name=value` are both
    /// accepted; an option given twice takes the last value; `--help` and `--version` win over
    /// everything after them is checked.
    public static func parse(_ arguments: [String]) throws(UsageError) -> DaemonCommandLine {
        var options = Options()
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            let (name, inline) = split(argument)
            func value() throws(UsageError) -> String {
                if let inline { return inline }
                guard index < arguments.count, !arguments[index].hasPrefix("--") else {
                    throw UsageError(description: "missing value for '\(name) <\(name.dropFirst(2))>'")
                }
                index += 1
                return arguments[index - 1]
            }
            switch name {
            case "-h", "--help":
                return .help
            case "--version":
                return .version
            case "--config":
                options.config = try value()
            case "--log-level":
                options.logLevel = try value()
            case "--fleet-table":
                options.fleetTable = try value()
            case "--fleet-init":
                guard inline == nil else { throw UsageError(description: "'--fleet-init' takes no value") }
                options.fleetInit = true
            default:
                if argument.hasPrefix("-") {
                    throw UsageError(description: "unknown option '\(name)'")
                }
                throw UsageError(description: "unexpected argument '\(argument)'")
            }
        }
        return .run(options)
    }

    /// `--name=value` → (`--name`, `value`); anything else → (argument, nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
