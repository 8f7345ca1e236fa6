import ArgumentParser
import Foundation
import RolloutClient
import RolloutConfig
import RolloutCore

/// The options every command takes (SPEC §7).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's socket (else $ROLLOUT_SOCKET, else [server].socket of the configuration).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Configuration file (else $ROLLOUT_CONFIG, else ./rollout.toml, else the built-in defaults).", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Print exactly one JSON document on stdout: the result, or {\"error\": ...}.")
    var json = false
}

/// The environment variable that names the daemon's socket: `ROLLOUT_SOCKET`.
let socketEnvironmentVariable = "ROLLOUT_SOCKET"

extension GlobalOptions {
    /// Locates and loads the configuration the way the daemon does (`--config`,
    /// `$ROLLOUT_CONFIG`, `./rollout.toml`, defaults), with relative paths resolved against the
    /// working directory.
    ///
    /// - Parameter awsProviderCompiledIn: whether `provider = "aws"` is acceptable; commands
    ///   that only need the socket pass `true`, since which providers the daemon's build
    ///   contains is the daemon's concern.
    func loadConfiguration(awsProviderCompiledIn: Bool) throws(ConfigurationError) -> (Configuration, ConfigSource) {
        let directory = FileManager.default.currentDirectoryPath
        let source = ConfigurationLoader.locate(
            explicitPath: config, environment: ProcessInfo.processInfo.environment, currentDirectory: directory)
        let configuration = try ConfigurationLoader.load(source, awsProviderCompiledIn: awsProviderCompiledIn)
        return (configuration.resolvingPaths(relativeTo: directory), source)
    }

    /// The socket to connect to and where that choice came from (for error messages):
    /// `--socket`, else `$ROLLOUT_SOCKET`, else the configuration's `[server].socket`.
    func socketLocation() throws(ConfigurationError) -> (path: String, origin: String) {
        if let socket {
            return (socket, "--socket")
        }
        if let socket = ProcessInfo.processInfo.environment[socketEnvironmentVariable], !socket.isEmpty {
            return (socket, "$\(socketEnvironmentVariable)")
        }
        let (configuration, source) = try loadConfiguration(awsProviderCompiledIn: true)
        return (configuration.server.socket, "[server].socket of \(source)")
    }
}

/// What a command runs with: the console, and a connection to the daemon opened on first use
/// (so that `config check` and `config explain` never need one).
///
/// Used by one task from start to end; not shared.
final class Session {
    /// `--socket`, `--config`, `--json`.
    let globals: GlobalOptions
    /// Where results and errors are printed.
    let console: Console
    private var client: RolloutClient?

    init(globals: GlobalOptions) {
        self.globals = globals
        self.console = Console(json: globals.json)
    }

    /// Calls `method` on the daemon, connecting first if needed.
    func call(
        _ method: String, _ params: JSONObject = [:], progress: (@Sendable (JSONObject) -> Void)? = nil
    ) async throws -> JSONValue {
        try await connected().call(method, params: params, progress: progress)
    }

    /// Closes the connection, if one was opened.
    func close() async {
        await client?.close()
        client = nil
    }

    private func connected() async throws -> RolloutClient {
        if let client { return client }
        let (path, origin) = try globals.socketLocation()
        guard FileManager.default.fileExists(atPath: path) else {
            throw RolloutError(.unavailable, "no socket at \(path) (from \(origin)): is rolloutd running?")
        }
        let client = try await RolloutClient.connect(socketPath: path)
        self.client = client
        return client
    }
}

extension String {
    /// This path made absolute against the working directory (no symlink or `..` resolution:
    /// the daemon resolves paths itself).
    var absolutePath: String {
        if hasPrefix("/") { return self }
        let directory = FileManager.default.currentDirectoryPath
        return directory.hasSuffix("/") ? directory + self : directory + "/" + self
    }
}
