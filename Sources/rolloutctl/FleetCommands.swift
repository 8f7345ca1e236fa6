import ArgumentParser
import Foundation
import RolloutConfig
import RolloutCore

/// `rolloutctl fleet init`: fleet mode's table (SPEC §11).
struct FleetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Fleet mode: the DynamoDB table the daemons of a fleet share.",
        subcommands: [Init.self]
    )
}

extension FleetCommand {
    /// `fleet init [--table T]`.
    struct Init: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the fleet table if it is missing (idempotent) and print the IAM actions fleet mode needs.",
            discussion: """
                The table (partition key pk, sort key sk, both strings; on-demand capacity; TTL on purgeAt) is \
                --table, else [fleet] table of the configuration. Region, credentials and endpoint are resolved \
                as the daemon resolves them (service id DYNAMODB, [fleet] endpoint_url). The work is done by \
                `rolloutd --fleet-init`, found beside rolloutctl or on PATH, so rolloutctl needs no AWS code.
                """
        )

        @Option(name: .long, help: ArgumentHelp("The table (else [fleet] table of the configuration).", valueName: "name"))
        var table: String?

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let (configuration, source) = try globals.loadConfiguration(awsProviderCompiledIn: ConfigCommand.awsProviderCompiledIn)
            guard let table = table ?? configuration.fleet.table else {
                throw ValidationError("no table: pass --table NAME, or set [fleet] table in the configuration (\(source))")
            }
            var arguments = ["--fleet-init", "--fleet-table", table]
            if let path = source.path { arguments += ["--config", path] }
            let report = try Self.runDaemon(arguments)
            session.console.emit(.object(report)) { Self.human(report) }
            return .success
        }

        /// Runs `rolloutd ARGUMENTS` and returns the JSON object it prints; its stderr becomes
        /// the error.
        static func runDaemon(_ arguments: [String]) throws -> JSONObject {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: try daemonPath())
            process.arguments = arguments
            let stdout = Pipe()
            let stderr = Pipe()
            process.standardOutput = stdout
            process.standardError = stderr
            try process.run()
            let output = stdout.fileHandleForReading.readDataToEndOfFile()
            let errors = stderr.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                var message = String(decoding: errors, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
                if message.hasPrefix("rolloutd: ") { message.removeFirst("rolloutd: ".count) }
                throw RolloutError(.unavailable, message.isEmpty ? "rolloutd --fleet-init exited \(process.terminationStatus)" : message)
            }
            guard let report = (try? JSONParser.parse(Array(output)))?.objectValue else {
                throw RolloutError(.internalError, "rolloutd --fleet-init printed no JSON report")
            }
            return report
        }

        /// `rolloutd` beside this executable, else the first on PATH.
        static func daemonPath() throws -> String {
            let manager = FileManager.default
            if let me = try? manager.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
                let beside = URL(fileURLWithPath: me).deletingLastPathComponent().appendingPathComponent("rolloutd").path
                if manager.isExecutableFile(atPath: beside) { return beside }
            }
            for directory in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
                let candidate = "\(directory)/rolloutd"
                if manager.isExecutableFile(atPath: candidate) { return candidate }
            }
            throw RolloutError(.configInvalid, "fleet init runs rolloutd, which is neither beside rolloutctl nor on PATH")
        }

        static func human(_ report: JSONObject) -> String {
            let table = report["table"]?.stringValue ?? "?"
            var lines = [
                report["created"]?.boolValue == true ? "created table \(table)" : "table \(table) exists",
                "key schema: pk (HASH, S), sk (RANGE, S); on-demand; TTL on \(report["ttlAttribute"]?.stringValue ?? "purgeAt")",
                "",
                "IAM actions the daemons need on arn:aws:dynamodb:<region>:<account>:table/\(table):",
            ]
            lines += (report["iamActions"]?["daemon"]?.arrayValue ?? []).compactMap(\.stringValue).map { "  \($0)" }
            lines.append("and fleet init itself:")
            lines += (report["iamActions"]?["init"]?.arrayValue ?? []).compactMap(\.stringValue).map { "  \($0)" }
            return lines.joined(separator: "\n")
        }
    }
}
