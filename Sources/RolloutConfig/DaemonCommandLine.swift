public import RolloutCore

/// `rolloutd`'s command line, parsed by hand: four options do not need ArgumentParser, whose
/// code and reflection metadata were about half a MiB of the idle daemon's resident memory.
public enum DaemonCommandLine: Equatable, Sendable {
    /// Start the daemon (or, with `fleetInit`, create the fleet table and exit).
    case run(Options)
    /// `--help`/`-h`: print ``usage`` and exit 0.
    case help
    /// `--version`: print the version and exit 0.
    case version
    /// `--experimental-dump-help`: print ``toolInfo`` (swift-argument-parser's ToolInfoV0 JSON,
    /// which its generate-manual plugin turns into rolloutd(8)) and exit 0.
    case dumpHelp

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
            case "--experimental-dump-help":
                return .dumpHelp
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

    /// An option or flag, for ``toolInfo``.
    struct Described {
        var name: String
        var isFlag: Bool
        var abstract: String?
        var shown: Bool
        var short: String? = nil
    }

    /// Every option ``parse(_:)`` accepts, in the order `--help` lists them.
    static let described: [Described] = [
        Described(
            name: "config", isFlag: false, abstract: "Configuration file (else $ROLLOUT_CONFIG, else ./rollout.toml, else defaults).",
            shown: true),
        Described(
            name: "log-level", isFlag: false,
            abstract: "Log level: trace, debug, info, notice, warning, error, critical (else [server] log_level, else info).", shown: true),
        Described(name: "fleet-init", isFlag: true, abstract: nil, shown: false),
        Described(name: "fleet-table", isFlag: false, abstract: nil, shown: false),
        Described(name: "version", isFlag: true, abstract: "Show the version.", shown: true),
        Described(name: "help", isFlag: true, abstract: "Show help information.", shown: true, short: "h"),
    ]

    /// rolloutd described as swift-argument-parser's `--experimental-dump-help` describes a tool
    /// (ToolInfoV0), so that its generate-manual plugin writes rolloutd(8) from the options this
    /// parser accepts.
    public static var toolInfo: JSONValue {
        let arguments: [JSONValue] = described.map { option in
            let long: JSONValue = .object(["kind": "long", "name": .string(option.name)])
            var names: [JSONValue] = [long]
            if let short = option.short { names.insert(.object(["kind": "short", "name": .string(short)]), at: 0) }
            var argument: JSONObject = [
                "isOptional": true, "isRepeating": false, "kind": .string(option.isFlag ? "flag" : "option"),
                "names": .array(names), "parsingStrategy": "default", "preferredName": long,
                "shouldDisplay": .bool(option.shown), "valueName": .string(option.name),
            ]
            if let abstract = option.abstract { argument["abstract"] = .string(abstract) }
            return .object(argument)
        }
        return .object([
            "serializationVersion": 0,
            "command": .object([
                "commandName": "rolloutd",
                "abstract": "Serve S3, SQS, Secrets Manager, IMDS and Lambda rollouts over JSON-RPC 2.0 on a Unix socket.",
                "shouldDisplay": true,
                "arguments": .array(arguments),
            ]),
        ])
    }

    /// `--name=value` → (`--name`, `value`); anything else → (argument, nil).
    private static func split(_ argument: String) -> (String, String?) {
        guard argument.hasPrefix("--"), let equals = argument.firstIndex(of: "=") else { return (argument, nil) }
        return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
}
