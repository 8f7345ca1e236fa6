import ArgumentParser
#if AWS
import AWSConfig
#endif
import Foundation
import RolloutConfig
import RolloutCore

/// `rolloutctl config check|explain`: configuration without a daemon.
struct ConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Validate and explain a configuration file; no daemon needed.",
        subcommands: [Check.self, Explain.self]
    )

    /// Whether this build accepts `provider = "aws"`: the same package trait that decides it
    /// for the daemon (SPEC §10).
    static var awsProviderCompiledIn: Bool {
        #if AWS
        true
        #else
        false
        #endif
    }
}

extension ConfigCommand {
    /// `config check [--config F]`.
    struct Check: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate a configuration file the way the daemon does at startup.",
            discussion: "Prints 'ok: FILE', or every problem (exit status 4)."
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let (_, source) = try globals.loadConfiguration(awsProviderCompiledIn: ConfigCommand.awsProviderCompiledIn)
            let file = source.path ?? "built-in defaults"
            session.console.emit(["ok": true, "file": .string(file)]) { "ok: \(file)" }
            return .success
        }
    }

    /// `config explain [--config F] [--json]`.
    struct Explain: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the provider and the resolved paths (local) or profile (aws) of a configuration.",
            discussion: "Relative paths are resolved against the current directory, as the daemon would if started here."
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let (configuration, source) = try globals.loadConfiguration(awsProviderCompiledIn: ConfigCommand.awsProviderCompiledIn)
            let explanation = try Self.explain(configuration, environment: ProcessInfo.processInfo.environment)
            session.console.emit(.object(explanation)) {
                var text = HumanText.block([("config", source.description)] + HumanText.rows(explanation, omitting: ["services"]))
                if let services = explanation["services"]?.objectValue, !services.isEmpty {
                    text += "\n\n" + Self.serviceTable(services)
                }
                return text
            }
            return .success
        }

        /// The JSON form: `{"provider":"local","socket","stateDir","fileRoots","localRoot","services":{}}`,
        /// or for `aws` `{"provider":"aws","profile","services":{}}`.
        static func explain(_ configuration: Configuration, environment: [String: String]) throws -> JSONObject {
            #if AWS
            if configuration.cloud.provider == .aws {
                // Endpoints and regions with their sources (SPEC §2.1); never credentials. The
                // config file merged with the credentials file, as the daemon resolves profiles.
                let configFile = try SharedConfigFile.load(environment: environment)
                let resolver = try EndpointResolver(configuration: configuration, environment: environment, sharedConfig: configFile)
                var explanation = resolver.explain().objectValue ?? [:]
                if configuration.fleet.isEnabled { explanation["fleet"] = fleet(configuration.fleet) }
                return explanation
            }
            #endif
            var explanation: JSONObject = ["provider": .string(configuration.cloud.provider.rawValue)]
            switch configuration.cloud.provider {
            case .local:
                explanation["socket"] = .string(configuration.server.socket)
                explanation["stateDir"] = .string(configuration.server.stateDir)
                explanation["fileRoots"] = .array(configuration.server.fileRoots.map(JSONValue.string))
                explanation["localRoot"] = .string(configuration.cloud.local.root)
            case .aws:
                let profile = configuration.cloud.aws.profile ?? environment["AWS_PROFILE"].flatMap { $0.isEmpty ? nil : $0 }
                explanation["profile"] = .string(profile ?? "default")
            }
            if configuration.fleet.isEnabled { explanation["fleet"] = fleet(configuration.fleet) }
            explanation["services"] = .object([:])
            return explanation
        }

        /// `[fleet]` (SPEC §11), shown when fleet mode is on: `{"backend","table","leaseSecs",
        /// "renewSecs","nodeId"}`; an unset node id is shown as the pattern the daemon fills in.
        static func fleet(_ fleet: Configuration.Fleet) -> JSONValue {
            [
                "backend": .string(fleet.backend.rawValue),
                "table": fleet.table.map(JSONValue.string) ?? .null,
                "leaseSecs": .number(JSONNumber(fleet.leaseSecs)),
                "renewSecs": .number(JSONNumber(Double(fleet.leaseSecs) / 3)),
                "nodeId": .string(fleet.nodeID ?? "<hostname>:<pid>:<random> (default)"),
            ]
        }

        /// `service  endpoint  (source)  region  (source)` rows.
        static func serviceTable(_ services: JSONObject) -> String {
            var rows = [["SERVICE", "ENDPOINT", "FROM", "REGION", "FROM"]]
            for (name, value) in services {
                rows.append([
                    name, value["endpointUrl"]?.stringValue ?? "-", value["endpointSource"]?.stringValue ?? "-",
                    value["region"]?.stringValue ?? "-", value["regionSource"]?.stringValue ?? "-",
                ])
            }
            let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
            return rows.map { row in
                let line = zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
                return String(line.reversed().drop { $0 == " " }.reversed())
            }.joined(separator: "\n")
        }
    }
}
