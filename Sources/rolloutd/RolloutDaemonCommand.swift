import ArgumentParser
import Glibc
import Logging
import RolloutCore
import RolloutDaemon

/// `rolloutd`: the sidecar daemon.
@main
struct RolloutDaemonCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rolloutd",
        abstract: "Serve S3, SQS, Secrets Manager, IMDS and Lambda rollouts over JSON-RPC 2.0 on a Unix socket.",
        version: Daemon.version
    )

    @Option(name: .long, help: "Configuration file (else $ROLLOUT_CONFIG, else ./rollout.toml, else defaults).")
    var config: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical (else [server] log_level, else info).")
    var logLevel: String?

    @Flag(name: .customLong("fleet-init"), help: .hidden)
    var fleetInit = false

    @Option(name: .customLong("fleet-table"), help: .hidden)
    var fleetTable: String?

    func run() async throws {
        let level = try logLevel.map { name in
            guard let level = Logger.Level(rawValue: name) else {
                throw ValidationError("--log-level must be one of trace, debug, info, notice, warning, error, critical")
            }
            return level
        }
        do {
            let (configuration, source) = try Daemon.loadConfiguration(explicitPath: config)
            if fleetInit {
                // `rolloutctl fleet init` runs this, so that rolloutctl links no AWS code.
                #if AWS
                let report = try await Daemon.fleetInit(configuration: configuration, table: fleetTable)
                print(JSONValue.object(report).jsonString)
                return
                #else
                throw Daemon.StartupError(description: "fleet init needs the AWS provider; rebuild with: swift build --traits AWS")
                #endif
            }
            try await Daemon.run(configuration: configuration, configSource: source, logLevel: level)
        } catch let error as Daemon.StartupError {
            FileHandleStderr.write("rolloutd: \(error.description)\n")
            throw ExitCode(1)
        }
    }
}

/// Minimal stderr writer (no Foundation needed here).
enum FileHandleStderr {
    static func write(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { Glibc.write(STDERR_FILENO, $0.baseAddress, $0.count) }
    }
}

