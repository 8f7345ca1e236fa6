public import RolloutCore

/// The ``RolloutRecordStore`` over the state database's rows (`RolloutRowStore`, implemented
/// by RolloutStore): each record is stored as its JSON, beside the columns queries filter on.
public struct RolloutRecords: RolloutRecordStore {
    private let rows: any RolloutRowStore

    /// Records kept in `rows`.
    public init(rows: any RolloutRowStore) {
        self.rows = rows
    }

    /// See ``RolloutRecordStore/create(_:)``: one transaction checks the alias and inserts.
    public func create(_ record: RolloutRecord) async throws(RolloutError) -> String? {
        try await rows.create(try Self.row(record))
    }

    /// See ``RolloutRecordStore/save(_:)``.
    public func save(_ record: RolloutRecord) async throws(RolloutError) {
        try await rows.save(try Self.row(record))
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

    /// See ``RolloutRecordStore/claimNotification(_:event:)``: this daemon is the only
    /// publisher of its deployments, so an event not yet sent is its to publish.
    public func claimNotification(_ deploymentId: String, event: NotificationEvent) async throws(RolloutError) -> Bool {
        !(try await rows.sentNotifications(deploymentId).contains(event))
    }

    /// See ``RolloutRecordStore/markSent(_:event:messageId:at:)``.
    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        try await rows.markSent(deploymentId, event: event, messageId: messageId, at: at)
    }

    /// See ``RolloutRecordStore/forward(_:to:)``: this daemon drives every deployment in its
    /// state database.
    public func forward(_ command: DeploymentCommand, to deploymentId: String) async throws(RolloutError) -> Bool {
        false
    }

    private static func row(_ record: RolloutRecord) throws(RolloutError) -> RolloutRow {
        let json: String
        do {
            json = String(decoding: try JSONValueEncoder().encode(record).serialized(), as: UTF8.self)
        } catch {
            throw RolloutError.internalError("cannot encode deployment \(record.deploymentId): \(error)")
        }
        return RolloutRow(
            deploymentId: record.deploymentId, engine: record.engine, function: record.function, alias: record.alias,
            status: record.status, createdAt: record.createdAt, json: json
        )
    }

    private static func decode(_ json: String) throws(RolloutError) -> RolloutRecord {
        do {
            return try JSONValueDecoder().decode(RolloutRecord.self, from: try JSONParser.parse(Array(json.utf8)))
        } catch {
            throw RolloutError.internalError("a deployment record in the state database cannot be read: \(error)")
        }
    }
}
