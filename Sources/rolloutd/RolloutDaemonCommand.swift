import Glibc
import Logging
import RolloutCore
import RolloutConfig
import RolloutDaemon

/// `rolloutd`: the sidecar daemon.
@main
enum RolloutDaemonCommand {
    static func main() async {
        let commandLine: DaemonCommandLine
        do {
            commandLine = try DaemonCommandLine.parse(Array(CommandLine.arguments.dropFirst()))
        } catch {
            StandardStreams.write("Error: \(error.description)\nUsage: rolloutd [--config <config>] [--log-level <log-level>]\n  See 'rolloutd --help' for more information.\n", to: STDERR_FILENO)
            exit(64)
        }
        switch commandLine {
        case .help:
            StandardStreams.write(DaemonCommandLine.usage, to: STDOUT_FILENO)
        case .version:
            StandardStreams.write("\(Daemon.version)\n", to: STDOUT_FILENO)
        case .dumpHelp:
            StandardStreams.write(DaemonCommandLine.toolInfo.jsonString + "\n", to: STDOUT_FILENO)
        case .run(let options):
            exit(await run(options))
        }
    }

    /// Runs the daemon; returns the exit status.
    private static func run(_ options: DaemonCommandLine.Options) async -> Int32 {
        var level: Logger.Level?
        if let name = options.logLevel {
            guard let parsed = Logger.Level(rawValue: name) else {
                StandardStreams.write(
                    "Error: --log-level must be one of trace, debug, info, notice, warning, error, critical\n", to: STDERR_FILENO)
                return 64
            }
            level = parsed
        }
        do {
            let (configuration, source) = try Daemon.loadConfiguration(explicitPath: options.config)
            if options.fleetInit {
                // `rolloutctl fleet init` runs this, so that rolloutctl links no AWS code.
                #if AWS
                let report = try await Daemon.fleetInit(configuration: configuration, table: options.fleetTable)
                StandardStreams.write(JSONValue.object(report).jsonString + "\n", to: STDOUT_FILENO)
                return 0
                #else
                throw Daemon.StartupError(description: "fleet init needs the AWS provider; rebuild with: swift build --traits AWS")
                #endif
            }
            try await Daemon.run(configuration: configuration, configSource: source, logLevel: level)
            return 0
        } catch let error as Daemon.StartupError {
            StandardStreams.write("rolloutd: \(error.description)\n", to: STDERR_FILENO)
            return 1
        } catch {
            StandardStreams.write("Error: \(error)\n", to: STDERR_FILENO)
            return 1
        }
    }
}

/// Writes to a standard stream (no Foundation needed here).
enum StandardStreams {
    static func write(_ text: String, to descriptor: Int32) {
        var bytes = Array(text.utf8)
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { return }
            offset += written
        }
    }
}
