import ArgumentParser
import Foundation
import RolloutClient
import RolloutConfig
import RolloutCore
import RolloutRPC

/// The options every command takes (SPEC §7).
struct GlobalOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The daemon's socket (else $ROLLOUT_SOCKET, else [server].socket of the configuration).", valueName: "path"))
    var socket: String?

    @Option(name: .long, help: ArgumentHelp("Configuration file (else $ROLLOUT_CONFIG, else ./rollout.toml, else the built-in defaults).", valueName: "path"))
    var config: String?

    @Flag(name: .long, help: "Print exactly one JSON document on stdout: the result, or {\"error\": ...}.")
    var json = false

    @Flag(name: .long, help: "Draw no progress bars and no live rollout view; print plain lines instead.")
    var noProgress = false
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
        self.console = Console(json: globals.json, progress: !globals.noProgress)
    }

    /// Calls the method `M` on the daemon, connecting first if needed: the method's name,
    /// params and result are RolloutRPC's types, so a renamed method or param fails to compile.
    func call<M: RPCMethod>(
        _ method: M.Type, _ params: M.Params, idempotencyKey: String? = nil,
        progress: (@Sendable (JSONObject) -> Void)? = nil
    ) async throws -> M.Result {
        try await connected().call(method, params, idempotencyKey: idempotencyKey, progress: progress)
    }

    /// Calls a method without params (`sys.health`, `sys.ping`, `compute.hint`).
    func call<M: RPCMethod>(_ method: M.Type) async throws -> M.Result where M.Params == NoParams {
        try await call(method, NoParams())
    }

    /// Calls `method` by name with raw params: only for `rolloutctl call`, whose method is
    /// whatever the user typed.
    func callByName(_ method: String, _ params: JSONObject) async throws -> JSONValue {
        try await connected().call(method, params: params)
    }

    /// The directory stdin and stdout are streamed through (``SpoolFile``): the first of the
    /// configuration's `[server].file_roots` that is a directory here; nil when there is none,
    /// or the configuration does not load.
    func spoolRoot() -> String? {
        guard let (configuration, _) = try? globals.loadConfiguration(awsProviderCompiledIn: true) else { return nil }
        return configuration.server.fileRoots.first { root in
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: root, isDirectory: &isDirectory) && isDirectory.boolValue
        }
    }

    /// Closes the connection, if one was opened.
    func close() async {
        await client?.close()
        client = nil
    }

    /// The connection to the daemon, opened on first use; for work that runs in child tasks
    /// (the client is `Sendable`, the session is not).
    func connectedClient() async throws -> RolloutClient {
        try await connected()
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

extension JSONValue {
    /// A typed result as the JSON the daemon sent: results are encoded by the daemon with the
    /// same types and encoder, so the round trip gives back the same document.
    init(encoding value: some Encodable) throws {
        self = try JSONValueEncoder().encode(value)
    }
}
