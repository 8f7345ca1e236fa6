public import Logging
import NIOPosix
import RolloutConfig
public import RolloutCore
import RolloutHTTP
#if AWS
import RolloutFleet
#endif
import RolloutLocal
import RolloutRPC
import RolloutServer
import RolloutStore
import RolloutSystem
import ServiceLifecycle
import UnixSignals

/// The daemon: configuration → state store → provider → socket → services, then serve until
/// SIGTERM/SIGINT, drain, release leases, close the database and remove the socket.
public enum Daemon {
    /// The version reported by `sys.health` and `--version`.
    public static let version = RolloutVersion.current

    /// Whether this build includes the AWS provider (the `AWS` package trait).
    #if AWS
    public static let awsProviderCompiledIn = true
    #else
    public static let awsProviderCompiledIn = false
    #endif

    /// Why the daemon could not start; printed to stderr, exit status 1.
    public struct StartupError: Error, CustomStringConvertible {
        /// The message for the operator.
        public var description: String

        /// An error saying `description`.
        public init(description: String) {
            self.description = description
        }
    }

    /// Loads the configuration from `--config`, `$ROLLOUT_CONFIG`, `./rollout.toml` or defaults.
    public static func loadConfiguration(explicitPath: String?) throws -> (Configuration, String) {
        let environment = ProcessEnvironment.variables()
        let cwd = Directories.current()
        let source = ConfigurationLoader.locate(explicitPath: explicitPath, environment: environment, currentDirectory: cwd)
        do {
            let configuration = try ConfigurationLoader.load(source, awsProviderCompiledIn: awsProviderCompiledIn)
            return (configuration.resolvingPaths(relativeTo: cwd), source.description)
        } catch {
            throw StartupError(description: "invalid configuration:\n\(error)")
        }
    }

    /// Runs the daemon until it is told to stop.
    ///
    /// - Parameter logLevel: `--log-level`, which wins over `[server] log_level`.
    public static func run(configuration: Configuration, configSource: String, logLevel: Logger.Level?) async throws {
        let level = logLevel ?? Logger.Level(rawValue: configuration.server.logLevel.rawValue) ?? .info
        LoggingSystem.bootstrap { label in JSONLineLogHandler(label: label, level: level) }
        let logger = Logger(label: "rolloutd")
        let startedAt = ContinuousClock.now
        logger.info("starting", metadata: ["version": "\(version)", "config": "\(configSource)", "provider": "\(configuration.cloud.provider.rawValue)"])
        // Metrics are collected only when something can scrape them; otherwise swift-metrics
        // keeps its no-op handlers. Bootstrapped before any metric object is made.
        let exporter = configuration.server.http.map { _ in MetricsExporter.bootstrap() }
        if let http = configuration.server.http, !http.listen.isLoopback {
            logger.warning(
                "[server.http] listen is not a loopback address; /metrics and the probes are reachable from other machines",
                metadata: ["http.listen": "\(http.listen)"]
            )
        }

        let store = try StateStore(directory: configuration.server.stateDir)
        let idempotency = IdempotencyRecords(store: store, ttlSeconds: configuration.server.idempotencyTTLSecs)
        try await idempotency.collectGarbage()

        let services = try await makeServices(configuration, store: store, logger: logger, startedAt: startedAt)
        var registry = MethodRegistry()
        services.registerSystem(into: &registry)
        services.registerObjects(into: &registry)
        services.registerQueue(into: &registry)
        services.registerSecrets(into: &registry)
        services.registerCompute(into: &registry)
        services.registerRollouts(into: &registry)
        let dispatcher = Dispatcher(
            registry: registry, idempotency: services.fleet?.gate(idempotency) ?? idempotency, logger: logger,
            slowRequest: .milliseconds(configuration.server.slowRequestMs)
        )

        let listener: UnixListener
        if let inherited = UnixListener.inherited(environment: ProcessEnvironment.variables()) {
            listener = inherited
        } else {
            do {
                listener = try UnixListener.bind(path: configuration.server.socket, mode: configuration.server.socketMode)
            } catch {
                throw StartupError(description: error.description)
            }
        }
        let leases = services.leases
        let readiness = Readiness { await services.readinessProblem() }
        let grace = Duration.seconds(configuration.server.shutdownGraceSecs)
        let server = RPCServer(
            listener: listener, dispatcher: dispatcher,
            settings: .init(
                maxRequestBytes: configuration.server.maxRequestBytes,
                maxInflightPerConnection: configuration.server.maxInflightPerConnection,
                maxBatchItems: configuration.server.maxBatchItems,
                allowedUIDs: configuration.server.allowedUIDs,
                shutdownGrace: grace
            ),
            logger: logger, eventLoopGroup: MultiThreadedEventLoopGroup.singleton,
            onConnectionClosed: { id in leases?.connectionClosed(id) },
            onListening: {
                readiness.markReady()
                // Logged once serving, so signal handling is in place when clients see it.
                let elapsed = ContinuousClock.now - startedAt
                let readyMs = elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000
                logger.info("ready", metadata: ["socket": "\(configuration.server.socket)", "startup_ms": "\(readyMs)"])
            }
        )
        let maintenance = Maintenance(idempotency: idempotency, logger: logger)
        // Services shut down in reverse order: the watchdog arms, /readyz turns 503, the server
        // drains (at most grace + 0.8 s), rollout loops stop, leases are released, maintenance
        // stops, the HTTP listener closes; the database closes last, below. The group cancels
        // services still running at grace + 1.5 s and the watchdog ends the process at
        // grace + 1.8 s, so the exit always comes within grace + 2 s (SPEC §6).
        var serviceList: [any Service] = [maintenance, HeapScavenger(logger: logger)]
        if let http = configuration.server.http, let exporter {
            // First, so it stops last: /readyz answers 503 while the server drains.
            do {
                let probes = try await ProbeServer.bind(
                    address: http.listen, exporter: exporter, readiness: readiness, logger: logger,
                    eventLoopGroup: MultiThreadedEventLoopGroup.singleton
                )
                serviceList.insert(probes, at: 0)
            } catch {
                listener.removeFiles()
                throw StartupError(description: "\(error)")
            }
        }
        if let leases { serviceList.append(leases) }
        if let rollouts = services.rollouts {
            // Resumes unfinished deployments; stops their loops after the server drained.
            serviceList.append(RolloutLifecycle(rollouts: rollouts, logger: logger))
        }
        // After the engines in the list, so it stops first: no adoption while they shut down.
        if let fleet = services.fleet { serviceList.append(fleet.service) }
        serviceList.append(server)
        serviceList.append(DrainSignal(readiness: readiness))
        serviceList.append(
            ShutdownWatchdog(limit: grace + .milliseconds(1800), logger: logger, beforeExit: { listener.removeFiles() })
        )
        var groupConfiguration = ServiceGroupConfiguration(
            services: serviceList.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        groupConfiguration.maximumGracefulShutdownDuration = grace + .milliseconds(1500)
        let group = ServiceGroup(configuration: groupConfiguration)
        try await group.run()
        try store.close()
        logger.info("stopped")
    }

    private static func makeServices(
        _ configuration: Configuration, store: StateStore, logger: Logger, startedAt: ContinuousClock.Instant
    ) async throws -> Services {
        let files: ClientFiles
        do {
            files = ClientFiles(roots: try FileRoots(configuration.server.fileRoots))
        } catch {
            throw StartupError(description: "[server].file_roots: \(error)")
        }
        let document = EmbeddedOpenRPC.document
        switch configuration.cloud.provider {
        case .local:
            let local = configuration.cloud.local
            let provider = try LocalProvider(
                root: local.root, tables: SQLiteLocalTables(store: store), secretsAllowlist: local.secretsAllowlist,
                visibilityTimeoutSecs: local.visibilityTimeoutSecs,
                multipartChunkBytes: configuration.cloud.aws.s3.multipartChunkBytes,
                maxObjectBytes: Int64(configuration.cloud.aws.s3.maxSnapshotPartBytes)
            )
            return Services(
                provider: .local, objects: provider.objects, queue: provider.queue, secrets: provider.secrets,
                compute: provider.compute, files: files,
                leases: LeaseKeeper(queue: provider.queue, queueName: "local", journal: SQLiteLeaseJournal(store: store), logger: logger),
                rollouts: nil,
                health: HealthBoard(details: [
                    .objectStore: "\(local.root)/objects", .queue: store.path,
                    .secrets: "\(local.root)/secrets.toml", .compute: "local",
                ]),
                startedAt: startedAt, version: version, openRPCDocument: document, credentialStatus: { nil }, fleet: nil
            )
        case .aws:
            #if AWS
            let aws = try AWSServices(
                configuration, environment: ProcessEnvironment.variables(), store: store, logger: logger
            )
            await aws.abortOrphanedUploads(logger: logger)
            try await FleetSetup.verifyAtStartup(configuration, resolver: aws.resolver, credentials: aws.credentials)
            return Services(
                provider: .aws, objects: aws.objects, queue: aws.queue, secrets: aws.secrets, compute: aws.compute,
                files: files,
                leases: aws.queue.map { queue in
                    LeaseKeeper(
                        queue: queue, queueName: configuration.cloud.aws.sqs.queueURL ?? "sqs",
                        journal: SQLiteLeaseJournal(store: store), logger: logger
                    )
                },
                rollouts: aws.rollouts,
                health: HealthBoard(details: aws.details),
                startedAt: startedAt, version: version, openRPCDocument: document,
                credentialStatus: { await aws.credentialStatus() },
                fleet: aws.fleet.map { fleet in
                    FleetHooks(
                        health: { await fleet.health() }, service: FleetService(driver: fleet.driver),
                        gate: { FleetIdempotencyGate(fleet: fleet.records.fleet, local: $0) }
                    )
                }
            )
            #else
            throw StartupError(
                description: "cloud.provider = \"aws\" needs the AWS provider, which this build does not include; rebuild with: swift build --traits AWS"
            )
            #endif
        }
    }

}

/// The embedded OpenRPC document, parsed when `rpc.discover` first asks for it (a Swift `static
/// let` is initialised once, thread-safely): parsed at startup, its tree was about 250 KB of heap
/// in every daemon, most of which never serves `rpc.discover`. Its validity is a test's business
/// (`tests/protocol`'s rpc.discover checks), not every start's.
enum EmbeddedOpenRPC {
    static let parsed: Result<JSONValue, RolloutError> = {
        do {
            return .success(try JSONParser.parse(PackageResources.rollout_openrpc_json))
        } catch {
            return .failure(.internalError("the embedded OpenRPC document is invalid: \(error)"))
        }
    }()

    /// The document, or InternalError if the embedded bytes do not parse.
    static let document: @Sendable () throws(RolloutError) -> JSONValue = { () throws(RolloutError) -> JSONValue in
        try parsed.get()
    }
}
