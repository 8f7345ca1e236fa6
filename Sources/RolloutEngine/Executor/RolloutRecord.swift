public import RolloutCore

/// One deployment as the state database keeps it: what was asked, and where it is.
public struct RolloutRecord: Sendable, Hashable, Codable {
    /// `d-` + 12 characters (native) or CodeDeploy's id.
    public var deploymentId: String
    /// The engine running it.
    public var engine: RolloutEngineKind
    /// The `rollout.start` params (after `publish` resolved the target).
    public var request: RolloutRequest
    /// The version the alias was on.
    public var fromVersion: String
    /// The version the alias moves to.
    public var toVersion: String
    /// When the record was made (seconds since the epoch).
    public var createdAt: Double
    /// The last known status (for queries; the snapshot is authoritative for native deployments).
    public var status: DeploymentStatus
    /// The native engine's state machine, persisted before every effect.
    public var snapshot: RolloutStateMachine.Snapshot?

    /// Creates a record.
    public init(
        deploymentId: String, engine: RolloutEngineKind, request: RolloutRequest, fromVersion: String, toVersion: String,
        createdAt: Double, status: DeploymentStatus, snapshot: RolloutStateMachine.Snapshot? = nil
    ) {
        self.deploymentId = deploymentId
        self.engine = engine
        self.request = request
        self.fromVersion = fromVersion
        self.toVersion = toVersion
        self.createdAt = createdAt
        self.status = status
        self.snapshot = snapshot
    }

    /// Function name or ARN.
    public var function: String { request.function }
    /// The alias.
    public var alias: String { request.alias }
}

/// Where deployments and their sent notifications are kept (SQLite in the daemon). Writes are
/// durable when the call returns: the engine records every step before it is applied.
public protocol RolloutRecordStore: Sendable {
    /// Inserts or replaces the record.
    func save(_ record: RolloutRecord) async throws(RolloutError)
    /// The record, or nil.
    func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord?
    /// Records matching every given filter, newest first, at most `limit`.
    func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord]
    /// Records whose status is not terminal.
    func active() async throws(RolloutError) -> [RolloutRecord]
    /// Notifications already published for the deployment.
    func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent>
    /// Remembers that `event` was published for the deployment (with SNS's message id).
    func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError)
}

extension RolloutRecordStore {
    /// The outbox: notifications the snapshot decided but the store has not marked sent, among the
    /// 500 newest deployments, in the order events are declared.
    public func unsentNotifications() async throws(RolloutError) -> [(record: RolloutRecord, events: [NotificationEvent])] {
        var result: [(record: RolloutRecord, events: [NotificationEvent])] = []
        for record in try await list(function: nil, alias: nil, status: nil, limit: 500) {
            guard let decided = record.snapshot?.notified, !decided.isEmpty else { continue }
            let sent = try await sentNotifications(record.deploymentId)
            let events = NotificationEvent.allCases.filter { decided.contains($0) && !sent.contains($0) }
            if !events.isEmpty { result.append((record, events)) }
        }
        return result
    }
}
