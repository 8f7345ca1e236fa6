import GRDB
public import RolloutCore

/// Deployments in the state database: one row per deployment holding the whole record as JSON
/// (the rollout engine's snapshot included) plus the columns queries filter on, and one row per
/// notification published (the outbox's "sent" side).
public struct SQLiteRolloutRows: RolloutRowStore {
    let store: StateStore

    /// Rows in `store`.
    public init(store: StateStore) {
        self.store = store
    }

    /// See ``RolloutRowStore/save(_:)``.
    public func save(_ row: RolloutRow) async throws(RolloutError) {
        try await store.write("save deployment \(row.deploymentId)") { db in
            try db.execute(
                sql: """
                    INSERT INTO rollouts (id, engine, function, alias, status, created_at, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record
                    """,
                arguments: [
                    row.deploymentId, row.engine.rawValue, row.function, row.alias, row.status.rawValue, row.createdAt, row.json,
                ]
            )
        }
    }

    /// See ``RolloutRowStore/create(_:)``.
    public func create(_ row: RolloutRow) async throws(RolloutError) -> String? {
        try await store.write("create deployment \(row.deploymentId)") { db in
            let active = try String.fetchOne(
                db,
                sql: """
                    SELECT id FROM rollouts WHERE function = ? AND alias = ? AND status NOT IN ('Succeeded', 'Failed', 'Stopped')
                    ORDER BY created_at LIMIT 1
                    """,
                arguments: [row.function, row.alias]
            )
            if let active { return active }
            try db.execute(
                sql: "INSERT INTO rollouts (id, engine, function, alias, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
                arguments: [
                    row.deploymentId, row.engine.rawValue, row.function, row.alias, row.status.rawValue, row.createdAt, row.json,
                ]
            )
            return nil
        }
    }

    /// See ``RolloutRowStore/load(_:)``.
    public func load(_ deploymentId: String) async throws(RolloutError) -> String? {
        try await fetch(sql: "SELECT record FROM rollouts WHERE id = ?", arguments: [deploymentId]).first
    }

    /// See ``RolloutRowStore/list(function:alias:status:limit:)``.
    public func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [String] {
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

    /// See ``RolloutRowStore/active()``.
    public func active() async throws(RolloutError) -> [String] {
        try await fetch(
            sql: "SELECT record FROM rollouts WHERE status NOT IN ('Succeeded', 'Failed', 'Stopped') ORDER BY created_at", arguments: []
        )
    }

    /// See ``RolloutRowStore/sentNotifications(_:)``.
    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        let names: [String] = try await store.read("read notifications") { db in
            try String.fetchAll(db, sql: "SELECT event FROM rollout_notifications WHERE deployment_id = ?", arguments: [deploymentId])
        }
        return Set(names.compactMap(NotificationEvent.init(rawValue:)))
    }

    /// See ``RolloutRowStore/markSent(_:event:messageId:at:)``.
    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        try await store.write("mark notification sent") { db in
            try db.execute(
                sql: "INSERT OR IGNORE INTO rollout_notifications (deployment_id, event, message_id, sent_at) VALUES (?, ?, ?, ?)",
                arguments: [deploymentId, event.rawValue, messageId, at]
            )
        }
    }

    private func fetch(sql: String, arguments: StatementArguments) async throws(RolloutError) -> [String] {
        try await store.read("read deployments") { db in try String.fetchAll(db, sql: sql, arguments: arguments) }
    }
}
