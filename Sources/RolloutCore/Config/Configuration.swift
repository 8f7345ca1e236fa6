/// The daemon's whole configuration: one value, built once at startup from the TOML file
/// (SPEC §2) and validated before anything else runs.
///
/// Every property mirrors one TOML key; its documentation names the key and the default used
/// when the key is absent. `Configuration.default` is what the daemon runs with when there is
/// no configuration file at all. Loading, validation and the error messages live in the
/// `RolloutConfig` module; this type is a plain value with no I/O.
///
/// Paths are kept exactly as written. Relative paths are relative to the daemon's working
/// directory; ``resolvingPaths(relativeTo:)`` turns them into absolute ones.
public struct Configuration: Sendable, Hashable {
    /// `[server]`: the Unix socket, its access control, and per-connection limits.
    public var server = Server()
    /// `[cloud]`: which provider serves the capabilities, and its settings.
    public var cloud = Cloud()
    /// `[fleet]`: deployments shared by a fleet of daemons (SPEC §11). Default: backend `none`.
    public var fleet = Fleet()

    /// A configuration with every key at its default.
    public init() {}

    /// The built-in defaults: provider `local`, everything under `.rollout/`.
    public static let `default` = Configuration()
}

extension Configuration {
    /// `[server]`: how the daemon listens and how much one connection may ask of it.
    public struct Server: Sendable, Hashable {
        /// `socket`: path of the Unix socket the daemon listens on. Must be shorter than
        /// 108 bytes. Its parent directory is created with mode 0700.
        /// Default `".rollout/rollout.sock"`.
        public var socket = ".rollout/rollout.sock"
        /// `socket_mode`: permission bits the socket is created with, written in TOML as a
        /// string of octal digits. At most `0o777`. Default `"0600"` (`0o600`).
        public var socketMode: UInt32 = 0o600
        /// `allowed_uids`: peer uids allowed to connect besides the daemon's own uid and root.
        /// Default `[]` (only the daemon's own uid and root).
        public var allowedUIDs: [UInt32] = []
        /// `state_dir`: directory holding the daemon's SQLite database.
        /// Default `".rollout/state"`.
        public var stateDir = ".rollout/state"
        /// `file_roots`: the only directories that `path` parameters may read or write. No entry
        /// may contain, or lie inside, `state_dir` or (provider `local`) `[cloud.local] root`.
        /// Default `[".rollout/files"]`.
        public var fileRoots = [".rollout/files"]
        /// `max_request_bytes`: largest JSON-RPC request line accepted, in bytes.
        /// Range 1024...67108864 (64 MiB). Default `1048576` (1 MiB).
        public var maxRequestBytes = 1_048_576
        /// `max_inflight_per_connection`: requests one connection may have running at once.
        /// Range 1...4096. Default `64`.
        public var maxInflightPerConnection = 64
        /// `max_batch_items`: most entries one batch (a JSON array of requests) may hold; a
        /// longer batch is answered with one -32600 error (id null, `data.reason` `"TooLarge"`)
        /// and the connection stays open. Range 1...10000. Default `1000`.
        public var maxBatchItems = 1000
        /// `shutdown_grace_secs`: how long in-flight requests may run after a shutdown signal.
        /// Range 0...3600. Default `20`.
        public var shutdownGraceSecs = 20
        /// `idempotency_ttl_secs`: how long idempotency records are kept.
        /// Range 1...2592000 (30 days). Default `86400` (one day).
        public var idempotencyTTLSecs = 86_400
        /// `log_level`: the lowest level written to stderr. At `info` (the default) the log has
        /// start and stop, errors, slow requests and rollout events; every request is logged
        /// at `debug`.
        public var logLevel = LogLevel.info
        /// `slow_request_ms`: a request that runs longer than this is logged at `info`
        /// (long polls and waits excepted). Range 1...3600000. Default `1000`.
        public var slowRequestMs = 1000
        /// `[server.http]`: the HTTP listener for metrics and probes (SPEC §6.1).
        /// Default: absent (no TCP port).
        public var http: HTTP?

        /// The levels of `log_level`, lowest first (swift-log's names).
        public enum LogLevel: String, Sendable, CaseIterable {
            case trace, debug, info, notice, warning, error, critical
        }

        /// A `[server]` section with every key at its default.
        public init() {}
    }

    /// `[cloud]`: the provider that implements the capabilities, and its settings.
    public struct Cloud: Sendable, Hashable {
        /// The providers a configuration can name. One provider per configuration.
        public enum Provider: String, Sendable, CaseIterable {
            /// Amazon Web Services (`[cloud.aws]`); needs a build with the `AWS` trait.
            case aws
            /// The embedded local provider (`[cloud.local]`), backed by files under a root.
            case local
        }

        /// `provider`: `"aws"` or `"local"`. Default `"local"`.
        public var provider = Provider.local
        /// `region`: the AWS region for every service, highest precedence in region
        /// resolution (SPEC §2.1). Default: unset.
        public var region: String?
        /// `[cloud.aws]`: settings of the `aws` provider.
        public var aws = AWS()
        /// `[cloud.local]`: settings of the `local` provider.
        public var local = Local()

        /// A `[cloud]` section with every key at its default.
        public init() {}
    }

    /// `[cloud.local]`: the embedded provider that keeps objects, the queue and secrets in
    /// files under one root directory.
    public struct Local: Sendable, Hashable {
        /// `root`: directory holding the local provider's objects, queue and secrets.
        /// Default `".rollout/local"`.
        public var root = ".rollout/local"
        /// `secrets_allowlist`: secret names served from `<root>/secrets.toml`; any other name
        /// is refused. Default `[]`.
        public var secretsAllowlist: [String] = []
        /// `visibility_timeout_secs`: default visibility timeout of the local queue.
        /// Range 0...43200. Default `30`.
        public var visibilityTimeoutSecs = 30

        /// A `[cloud.local]` section with every key at its default.
        public init() {}
    }
}
