#if AWS
import CurlHTTP
import AWSConfig
import Logging
import RolloutAWS
import RolloutCore
import RolloutEngine
import RolloutFleet
import RolloutLocal
import RolloutStore
import RolloutSystem

/// The AWS provider's capabilities, assembled from the configuration, the environment and the
/// shared AWS config files: one credential chain, one libcurl client, one signed client per
/// service at its resolved endpoint and region.
struct AWSServices {
    let resolver: EndpointResolver
    let credentials: CredentialChain
    let secrets: (any SecretStore)?
    let objects: S3ObjectStore?
    let queue: SQSQueue?
    let compute: any ComputeHintProvider
    let rollouts: RolloutCoordinator?
    /// Fleet mode (`[fleet] backend = "dynamodb"` with a Lambda region): the shared records,
    /// the lease loop and the fleet-wide idempotency keys. Nil otherwise.
    let fleet: FleetMode?
    let details: [HealthBoard.Capability: String]

    init(_ configuration: RolloutCore.Configuration, environment: [String: String], store: StateStore, logger: Logger) throws {
        let aws = configuration.cloud.aws
        let profile = SharedConfigFile.activeProfileName(configuredProfile: aws.profile, environment: environment)
        let sharedConfig: SharedConfigFile
        do {
            // Merged, as botocore's full_config: a profile may live in the credentials file
            // alone. The credential chain reads both files again whenever it looks.
            sharedConfig = try SharedConfigFile.load(environment: environment)
        } catch {
            throw Daemon.StartupError(description: "cannot read the AWS shared config files: \(error)")
        }
        do {
            resolver = try EndpointResolver(configuration: configuration, environment: environment, sharedConfig: sharedConfig)
        } catch {
            throw Daemon.StartupError(description: "cannot resolve AWS endpoints: \(error)")
        }
        let http = CurlHTTPClient()
        let sts = STSEndpoint(resolver.endpoint(for: .sts)) ?? STSEndpoint(url: "https://sts.amazonaws.com", region: "us-east-1")
        // Reads the shared files again whenever it looks for credentials, so a profile written
        // (or an `aws sso login`) after startup is found without a restart.
        credentials = CredentialChain(
            environment: environment, profileName: profile, explicitProfile: aws.profile?.isEmpty == false,
            httpClient: http, sts: sts
        )
        let retry = RetryPolicy.standard(maxAttempts: aws.maxAttempts)
        let secretsEndpoint = resolver.endpoint(for: .secretsManager)
        if let url = secretsEndpoint.endpointURL, let region = secretsEndpoint.region {
            let client = try AWSClient(
                service: .secretsManager, endpointURL: url, region: region, credentials: credentials, http: http, retryPolicy: retry
            )
            secrets = SecretsManagerStore(client: client, allowlist: aws.secrets.allowlist, cacheTTLSecs: aws.secrets.cacheTTLSecs)
        } else {
            logger.warning("secret.get is unavailable: no region for Secrets Manager")
            secrets = nil
        }
        let s3Endpoint = resolver.endpoint(for: .s3)
        if let bucket = aws.s3.bucket, let url = s3Endpoint.endpointURL, let region = s3Endpoint.region {
            let client = try AWSClient(service: .s3, endpointURL: url, region: region, credentials: credentials, http: http, retryPolicy: retry)
            objects = S3ObjectStore(
                client: client, bucket: bucket, prefix: aws.s3.prefix ?? "", forcePathStyle: aws.s3.forcePathStyle,
                multipartChunkBytes: Int64(aws.s3.multipartChunkBytes), maxObjectBytes: Int64(aws.s3.maxSnapshotPartBytes),
                uploadConcurrency: aws.s3.uploadConcurrency, journal: SQLiteUploadJournal(store: store, storeName: "s3://\(bucket)")
            )
        } else {
            objects = nil
        }
        let sqsEndpoint = resolver.endpoint(for: .sqs)
        if let queueURL = aws.sqs.queueURL, let url = sqsEndpoint.endpointURL, let region = sqsEndpoint.region {
            let client = try AWSClient(service: .sqs, endpointURL: url, region: region, credentials: credentials, http: http, retryPolicy: retry)
            queue = SQSQueue(client: client, queueURL: queueURL, defaultVisibilitySeconds: aws.sqs.visibilityTimeoutSecs)
        } else {
            queue = nil
        }
        (rollouts, fleet) = try Self.makeRollouts(
            configuration, resolver: resolver, credentials: credentials, http: http, retry: retry, store: store, logger: logger
        )
        let imds = IMDSSession.isDisabled(environment: environment)
            ? nil : IMDSSession(environment: environment, httpClient: http, tokenTTLSeconds: aws.imds.tokenTTLSecs)
        compute = IMDSComputeHint(session: imds, fallback: LocalComputeHint()) { WallClock.seconds() }
        details = [
            .secrets: secretsEndpoint.endpointURL ?? "no region",
            .compute: imds.map { "IMDSv2 at \($0.endpoint)" } ?? "IMDS disabled",
            .objectStore: aws.s3.bucket.map { "s3://\($0)/\(aws.s3.prefix ?? "")" } ?? "no bucket configured",
            .queue: aws.sqs.queueURL ?? "no queue configured",
            .rollout: rollouts == nil ? "no region for Lambda" : "Lambda at \(resolver.endpoint(for: .lambda).endpointURL ?? "?"), engine \(aws.rollout.engine.rawValue)",
        ]
    }

    /// The rollout engines: native over Lambda (+ CloudWatch and SNS when they have a region),
    /// CodeDeploy when its application and group are configured. Nil without a Lambda region.
    private static func makeRollouts(
        _ configuration: RolloutCore.Configuration, resolver: EndpointResolver, credentials: CredentialChain, http: CurlHTTPClient,
        retry: RetryPolicy, store: StateStore, logger: Logger
    ) throws -> (RolloutCoordinator?, FleetMode?) {
        func client(_ service: AWSService) throws -> AWSClient? {
            let endpoint = resolver.endpoint(for: service)
            guard let url = endpoint.endpointURL, let region = endpoint.region else { return nil }
            return try AWSClient(
                service: service, endpointURL: url, region: region, credentials: credentials, http: http, retryPolicy: retry, logger: logger
            )
        }
        guard let lambdaClient = try client(.lambda) else {
            logger.warning("rollout.* is unavailable: no region for Lambda")
            return (nil, nil)
        }
        let settings = configuration.cloud.aws.rollout
        let lambda = LambdaClient(client: lambdaClient)
        let alarms = try client(.cloudWatch).map { CloudWatchAlarms(client: $0) }
        let publisher = try client(.sns).map { SNSPublisher(client: $0) }
        let records = RolloutRecords(rows: SQLiteRolloutRows(store: store))
        let now: @Sendable () -> Double = { WallClock.seconds() }
        let fleetRecords = try FleetMode.records(configuration, resolver: resolver, credentials: credentials, local: records)
        let shared: any RolloutRecordStore = fleetRecords ?? records
        let native = NativeRolloutEngine(
            lambda: lambda, alarms: alarms, publisher: publisher, store: shared,
            settings: .init(alarmPollSeconds: settings.alarmPollSecs), logger: logger, now: now
        )
        var engines: [any DeploymentEngine] = [native]
        if let application = settings.codedeployApplication, let group = settings.codedeployDeploymentGroup,
            let codeDeployClient = try client(.codeDeploy)
        {
            let codeDeploy = CodeDeployRollouts(client: codeDeployClient, application: application, deploymentGroup: group)
            engines.append(CodeDeployEngine(codeDeploy: codeDeploy, store: shared, now: now))
        }
        let coordinator = RolloutCoordinator(
            engines: engines, defaultEngine: settings.engine == .codedeploy ? .codedeploy : .native, lambda: lambda, alarms: alarms,
            store: shared
        )
        return (coordinator, fleetRecords.map { FleetMode(records: $0, driver: FleetDriver(records: $0, engine: native, logger: logger)) })
    }

    /// Aborts multipart uploads a crash left behind (SPEC §4.2: no orphans, even after SIGKILL).
    func abortOrphanedUploads(logger: Logger) async {
        guard let objects else { return }
        do {
            let aborted = try await objects.abortOrphans(journal: objects.journal)
            if aborted > 0 { logger.info("aborted orphaned multipart uploads", metadata: ["count": "\(aborted)"]) }
        } catch {
            logger.warning("could not abort orphaned multipart uploads; will retry next start", metadata: ["error": "\(error)"])
        }
    }

    /// `sys.health.credentials`, or the chain's error while no credentials can be had (looked
    /// up at most once a second, sharing any fetch under way).
    func credentialStatus() async -> CredentialReport {
        switch await credentials.health() {
        case .available(let source, let expiresAt): CredentialReport(source: source, expiresAt: expiresAt)
        case .unavailable(let error): CredentialReport(error: error)
        case .pending: CredentialReport()
        }
    }
}
#endif
