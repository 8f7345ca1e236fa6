import GRDB
public import RolloutCore
public import RolloutEngine

/// Deployments in the state database: one row per deployment holding the whole record as JSON
/// (the state machine's snapshot included) plus the columns queries filter on, and one row per
/// notification published (the outbox's "sent" side).
public struct SQLiteRolloutRecords: RolloutRecordStore {
    let store: StateStore

    /// Records in `store`.
    public init(store: StateStore) {
        self.store = store
    }

    public func save(_ record: RolloutRecord) async throws(RolloutError) {
        let json: String
        do {
            json = String(decoding: try JSONValueEncoder().encode(record).serialized(), as: UTF8.self)
        } catch {
            throw RolloutError.internalError("cannot encode deployment \(record.deploymentId): \(error)")
        }
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO rollouts (id, engine, function, alias, status, created_at, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record
                    """,
                arguments: [
                    record.deploymentId, record.engine.rawValue, record.function, record.alias, record.status.rawValue,
                    record.createdAt, json,
                ]
            )
        }
    }

    public func load(_ deploymentId: String) async throws(RolloutError) -> RolloutRecord? {
        try await fetch(sql: "SELECT record FROM rollouts WHERE id = ?", arguments: [deploymentId]).first
    }

    public func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [RolloutRecord] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let function {
            conditions.append("function = ?")
            _ = arguments.append(contentsOf: [function])
        }
        if let alias {
            conditions.append("alias = ?")
            _ = arguments.append(contentsOf: [alias])
        }
        if let status {
            conditions.append("status = ?")
            _ = arguments.append(contentsOf: [status.rawValue])
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        _ = arguments.append(contentsOf: [limit])
        return try await fetch(sql: "SELECT record FROM rollouts \(filter) ORDER BY created_at DESC, rowid DESC LIMIT ?", arguments: arguments)
    }

    public func active() async throws(RolloutError) -> [RolloutRecord] {
        try await fetch(
            sql: "SELECT record FROM rollouts WHERE status NOT IN ('Succeeded', 'Failed', 'Stopped') ORDER BY created_at", arguments: []
        )
    }

    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        let names: [String] = try await read { db in
            try String.fetchAll(db, sql: "SELECT event FROM rollout_notifications WHERE deployment_id = ?", arguments: [deploymentId])
        }
        return Set(names.compactMap(NotificationEvent.init(rawValue:)))
    }

    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        try await write { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO rollout_notifications (deployment_id, event, message_id, sent_at) VALUES (?, ?, ?, ?)",
                arguments: [deploymentId, event.rawValue, messageId, at]
            )
        }
    }

    // MARK: - Plumbing

    private func fetch(sql: String, arguments: StatementArguments) async throws(RolloutError) -> [RolloutRecord] {
        let rows: [String] = try await read { db in try String.fetchAll(db, sql: sql, arguments: arguments) }
        var records: [RolloutRecord] = []
        for row in rows {
            do {
                records.append(try JSONValueDecoder().decode(RolloutRecord.self, from: try JSONParser.parse(Array(row.utf8))))
            } catch {
                throw RolloutError.internalError("a deployment record in the state database cannot be read: \(error)")
            }
        }
        return records
    }

    private func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws(RolloutError) -> T {
        do {
            return try await store.pool.read(body)
        } catch {
            throw RolloutError.internalError("state database read failed: \(error)")
        }
    }

    private func write(_ body: @escaping @Sendable (Database) throws -> Void) async throws(RolloutError) {
        do {
            try await store.pool.write(body)
        } catch {
            throw RolloutError.internalError("state database write failed: \(error)")
        }
    }
}
