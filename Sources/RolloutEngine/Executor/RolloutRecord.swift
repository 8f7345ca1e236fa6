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

/// The ``RolloutRecordStore`` over the state database's rows (`RolloutRowStore`, implemented
/// by RolloutStore): each record is stored as its JSON, beside the columns queries filter on.
public struct RolloutRecords: RolloutRecordStore {
    private let rows: any RolloutRowStore

    /// Records kept in `rows`.
    public init(rows: any RolloutRowStore) {
        self.rows = rows
    }

    /// See ``RolloutRecordStore/save(_:)``.
    public func save(_ record: RolloutRecord) async throws(RolloutError) {
        let json: String
        do {
            json = String(decoding: try JSONValueEncoder().encode(record).serialized(), as: UTF8.self)
        } catch {
            throw RolloutError.internalError("cannot encode deployment \(record.deploymentId): \(error)")
        }
        try await rows.save(
            RolloutRow(
                deploymentId: record.deploymentId, engine: record.engine, function: record.function, alias: record.alias,
                status: record.status, createdAt: record.createdAt, json: json
            )
        )
    }

    /// See ``RolloutRecordStore/load(_:)``.
    public func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord? {
        try await rows.load(deploymentId).map(Self.decode)
    }

    /// See ``RolloutRecordStore/list(function:alias:status:limit:)``.
    public func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord] {
        try await rows.list(function: function, alias: alias, status: status, limit: limit).map(Self.decode)
    }

    /// See ``RolloutRecordStore/active()``.
    public func active() async throws(RolloutError) -> [RolloutRecord] {
        try await rows.active().map(Self.decode)
    }

    /// See ``RolloutRecordStore/sentNotifications(_:)``.
    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        try await rows.sentNotifications(deploymentId)
    }

    /// See ``RolloutRecordStore/markSent(_:event:messageId:at:)``.
    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        try await rows.markSent(deploymentId, event: event, messageId: messageId, at: at)
    }

    private static func decode(_ json: String) throws(RolloutError) -> RolloutRecord {
        do {
            return try JSONValueDecoder().decode(RolloutRecord.self, from: try JSONParser.parse(Array(json.utf8)))
        } catch {
            throw RolloutError.internalError("a deployment record in the state database cannot be read: \(error)")
        }
    }
}
