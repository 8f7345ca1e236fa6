#if AWS
import AWSConfig
import CurlHTTP
import RolloutAWS
public import RolloutCore
import RolloutFleet
import RolloutSystem

/// Fleet mode's table, from the daemon's side: the startup check (SPEC §11: a daemon whose
/// table is missing or has another key schema does not start) and `rolloutd --fleet-init`,
/// which `rolloutctl fleet init` runs so that rolloutctl itself links neither libcurl nor
/// RolloutAWS.
enum FleetSetup {
    /// A DynamoDB client with the daemon's endpoint resolution (service id `DYNAMODB`,
    /// `[fleet] endpoint_url`), credential chain and retries.
    static func dynamoDB(
        _ configuration: Configuration, resolver: EndpointResolver, credentials: any CredentialSource
    ) throws -> DynamoDBClient {
        let endpoint = resolver.endpoint(for: .dynamoDB)
        let client = try AWSClient(
            endpoint: endpoint, credentials: credentials, http: CurlHTTPClient(),
            retryPolicy: .standard(maxAttempts: configuration.cloud.aws.maxAttempts)
        )
        return DynamoDBClient(client: client)
    }

    /// The longest a deployment's run loop legitimately spends in one await between two
    /// check-ins: one AWS call with every attempt at the per-attempt limit and the longest
    /// backoff between them. A run loop silent for a lease longer than this is stuck, and its
    /// lease is given up (``FleetRecords/stallLimit``).
    static func longestAwait(_ configuration: Configuration) -> Duration {
        (HTTPTimeouts().total + RetryPolicy.standard().maxBackoff) * configuration.cloud.aws.maxAttempts
    }

    /// Refuses to start in fleet mode without a usable table: missing, another key schema, or
    /// unreachable (naming the table). Nothing is called without `[fleet]`.
    static func verifyAtStartup(
        _ configuration: Configuration, resolver: EndpointResolver, credentials: any CredentialSource
    ) async throws {
        guard configuration.fleet.backend == .dynamodb, let table = configuration.fleet.table else { return }
        do {
            try await FleetTable.verify(dynamoDB(configuration, resolver: resolver, credentials: credentials), table: table)
        } catch let error as RolloutError {
            throw Daemon.StartupError(description: "fleet mode: \(error.message)" + (error.code == .configInvalid ? "" : " (table \(table))"))
        }
    }
}

extension Daemon {
    /// `rolloutd --fleet-init [--fleet-table T]`: creates the fleet table if it is missing
    /// (idempotent), turns TTL on, and returns what `rolloutctl fleet init --json` prints:
    /// `{"table","created","ttlEnabled","ttlAttribute","iamActions":{"daemon":[...],"init":[...]}}`.
    public static func fleetInit(configuration: Configuration, table explicitTable: String?) async throws -> JSONObject {
        guard let table = explicitTable ?? configuration.fleet.table else {
            throw StartupError(description: "fleet init needs a table: --table T, or [fleet] table in the configuration")
        }
        let environment = ProcessEnvironment.variables()
        let resolver: EndpointResolver
        do {
            resolver = try EndpointResolver(
                configuration: configuration, environment: environment, sharedConfig: SharedConfigFile.load(environment: environment)
            )
        } catch {
            throw StartupError(description: "cannot resolve the DynamoDB endpoint: \(error)")
        }
        let aws = configuration.cloud.aws
        let http = CurlHTTPClient()
        let sts = STSEndpoint(resolver.endpoint(for: .sts)) ?? STSEndpoint(url: "https://sts.amazonaws.com", region: "us-east-1")
        let credentials = CredentialChain(
            environment: environment,
            profileName: SharedConfigFile.activeProfileName(configuredProfile: aws.profile, environment: environment),
            explicitProfile: aws.profile?.isEmpty == false, httpClient: http, sts: sts
        )
        do {
            let setup = try await FleetTable.ensure(
                FleetSetup.dynamoDB(configuration, resolver: resolver, credentials: credentials), table: table
            )
            return [
                "table": .string(table), "created": .bool(setup.created), "ttlEnabled": .bool(setup.enabledTTL),
                "ttlAttribute": "purgeAt",
                "iamActions": [
                    "daemon": .array(FleetTable.daemonIAMActions.map(JSONValue.string)),
                    "init": .array(FleetTable.initIAMActions.map(JSONValue.string)),
                ],
            ]
        } catch let error as RolloutError {
            throw StartupError(description: "fleet init of table \(table) failed: \(error.message)")
        }
    }
}
#endif
