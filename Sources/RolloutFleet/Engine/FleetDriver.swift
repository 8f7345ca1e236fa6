public import Logging
import Metrics
import RolloutCore
public import RolloutEngine

/// The lease work of fleet mode that is not tied to a deployment step (SPEC §11), in one loop
/// that ``run()`` drives until it is cancelled:
///
/// - renewals: every lease this node holds, every `lease / 3` (``LeaseHolder``); a lease lost or
///   not confirmed in time ends that deployment's run loop at once (``NativeRolloutEngine/abandon(_:)``),
///   and so does a run loop that stopped checking in (stuck in an await): its lease is no
///   longer renewed, so another node adopts the deployment;
/// - commands: once per renewal period, the commands other nodes stored for the deployments
///   this node drives are applied (each in a task of its own, so a slow rollback delays no
///   renewal) and consumed by the save they lead to;
/// - adoption: the active leases are scanned at least every renewal period (and when the first
///   watched lease can expire); a lease seen unchanged for a whole lease on this node's clock
///   (``LeaseObserver``) is adopted and its deployment reconciled and continued
///   (``NativeRolloutEngine/adopt(_:node:epoch:)``).
public struct FleetDriver: Sendable {
    /// The records and leases.
    public let records: FleetRecords
    /// The engine that drives native deployments.
    public let engine: NativeRolloutEngine
    private let logger: Logger
    private let tick: Duration

    /// A driver of `records`' leases for `engine`. `tick`: how often due renewals are looked for.
    public init(records: FleetRecords, engine: NativeRolloutEngine, logger: Logger, tick: Duration = .milliseconds(250)) {
        self.records = records
        self.engine = engine
        self.logger = logger
        self.tick = tick
    }

    /// Runs until cancelled.
    public func run() async {
        let period = records.fleet.leaseDuration / 3
        let owned = Gauge(label: MetricName.fleetOwned)
        let adoptions = Counter(label: MetricName.fleetAdoptions)
        let lost = Counter(label: MetricName.fleetLeasesLost)
        await withDiscardingTaskGroup { group in
            var nextScan = Duration.zero
            var nextCommands = period
            while !Task.isCancelled {
                for (deploymentId, reason) in await records.renewDue() {
                    if reason == .stalled {
                        logger.warning(
                            "the deployment's run loop stopped checking in: its lease is left to expire for another daemon to adopt",
                            metadata: ["rollout.id": "\(deploymentId)", "stallLimit": "\(records.stallLimit)"]
                        )
                    }
                    lost.increment()
                    await engine.abandon(deploymentId)
                }
                let now = await records.monotonicNow
                if now >= nextCommands {
                    nextCommands = now + period
                    for (deploymentId, commands) in await records.pendingCommands() {
                        // A command already being applied is in the deployment's next save.
                        let fresh = await records.consume(commands.map(\.id), of: deploymentId)
                        let todo = commands.filter { fresh.contains($0.id) }
                        if !todo.isEmpty { group.addTask { await apply(todo, to: deploymentId) } }
                    }
                }
                if now >= nextScan {
                    for lease in await records.scanForExpired() {
                        guard let (adopted, record) = await records.adopt(lease) else { continue }
                        logger.info(
                            "adopting a deployment whose driver stopped renewing its lease",
                            metadata: ["rollout.id": "\(adopted.deploymentId)", "epoch": "\(adopted.epoch)", "previous": "\(lease.owner)"]
                        )
                        adoptions.increment()
                        // In a task of its own: publishing what the previous driver left unsent
                        // must not delay the renewals.
                        group.addTask { await engine.adopt(record, node: adopted.owner, epoch: adopted.epoch) }
                    }
                    let later = now + period
                    nextScan = min(later, await records.nextExpiry ?? later)
                }
                owned.record(await records.owned.count)
                try? await Task.sleep(for: tick)
            }
            group.cancelAll()
        }
    }

    private func apply(_ commands: [FleetCommand], to deploymentId: String) async {
        for command in commands {
            logger.info(
                "applying a command stored by another daemon",
                metadata: ["rollout.id": "\(deploymentId)", "command": "\(command.name)", "from": "\(command.from)"]
            )
            switch DeploymentCommand(rawValue: command.name) {
            case .stop?: _ = try? await engine.stop(deploymentId)
            case .promote?: _ = try? await engine.promote(deploymentId)
            case .pause?: _ = try? await engine.pause(deploymentId)
            case .resume?: _ = try? await engine.resume(deploymentId)
            case nil: continue
            }
        }
        await records.consumeLeftovers(of: deploymentId)
    }
}
