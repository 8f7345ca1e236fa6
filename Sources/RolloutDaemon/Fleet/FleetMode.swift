#if AWS
import AWSConfig
import Logging
import RolloutAWS
import RolloutCore
import RolloutRPC
import RolloutEngine
import RolloutFleet
import RolloutSystem
import ServiceLifecycle

/// Fleet mode in a running daemon (SPEC §11): the native engine's records in the fleet table,
/// the loop that renews, applies commands and adopts (``FleetDriver``), and what `sys.health`
/// reports.
struct FleetMode: Sendable {
    let records: FleetRecords
    let driver: FleetDriver

    /// The fleet records when `[fleet] backend = "dynamodb"`; nil (and no DynamoDB call) otherwise.
    static func records(
        _ configuration: Configuration, resolver: EndpointResolver, credentials: any CredentialSource, local: any RolloutRecordStore
    ) throws -> FleetRecords? {
        let fleet = configuration.fleet
        guard fleet.backend == .dynamodb, let table = fleet.table else { return nil }
        let nodeID = fleet.nodeID ?? Configuration.Fleet.defaultNodeID(
            hostname: ProcessEnvironment.hostName(), pid: ProcessEnvironment.processID, random: UInt32.random(in: 0...UInt32.max)
        )
        let store = FleetStore(
            dynamoDB: try FleetSetup.dynamoDB(configuration, resolver: resolver, credentials: credentials), table: table, nodeID: nodeID,
            leaseDuration: .seconds(fleet.leaseSecs), wallClockMs: { WallClock.milliseconds() }
        )
        return FleetRecords(fleet: store, local: local, longestAwait: FleetSetup.longestAwait(configuration))
    }

    /// `sys.health.capabilities.fleet`.
    func health() async -> Health.Fleet {
        let lastError = await records.lastError
        return Health.Fleet(
            ok: lastError == nil, detail: "DynamoDB table \(records.fleet.table)", nodeId: records.fleet.nodeID,
            owned: await records.owned.count, adopted: await records.adoptedCount, lastError: lastError
        )
    }
}

/// Runs ``FleetDriver`` in the service group until shutdown.
struct FleetService: Service {
    let driver: FleetDriver

    func run() async throws {
        await cancelWhenGracefulShutdown { await driver.run() }
    }
}
#endif
