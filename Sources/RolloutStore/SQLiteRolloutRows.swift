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
                """
                    INSERT INTO rollouts (id, engine, function, alias, status, created_at, record)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (id) DO UPDATE SET status = excluded.status, record = excluded.record
                    """,
                [
                    row.deploymentId, row.engine.rawValue, row.function, row.alias, row.status.rawValue, row.createdAt, row.json,
                ]
            )
        }
    }

    /// See ``RolloutRowStore/create(_:)``.
    public func create(_ row: RolloutRow) async throws(RolloutError) -> String? {
        try await store.write("create deployment \(row.deploymentId)") { db in
            let active = try db.value(
                """
                    SELECT id FROM rollouts WHERE function = ? AND alias = ? AND status NOT IN ('Succeeded', 'Failed', 'Stopped')
                    ORDER BY created_at LIMIT 1
                    """,
                [row.function, row.alias],
                as: String.self
            )
            if let active { return active }
            try db.execute(
                "INSERT INTO rollouts (id, engine, function, alias, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    row.deploymentId, row.engine.rawValue, row.function, row.alias, row.status.rawValue, row.createdAt, row.json,
                ]
            )
            return nil
        }
    }

    /// See ``RolloutRowStore/load(_:)``.
    public func load(_ deploymentId: String) async throws(RolloutError) -> String? {
        try await fetch("SELECT record FROM rollouts WHERE id = ?", [deploymentId]).first
    }

    /// See ``RolloutRowStore/list(function:alias:status:limit:)``.
    public func list(function: String?, alias: String?, status: DeploymentStatus?, limit: Int) async throws(RolloutError) -> [String] {
        var conditions: [String] = []
        var arguments: [any Bindable] = []
        if let function {
            conditions.append("function = ?")
            arguments.append(function)
        }
        if let alias {
            conditions.append("alias = ?")
            arguments.append(alias)
        }
        if let status {
            conditions.append("status = ?")
            arguments.append(status.rawValue)
        }
        let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        arguments.append(limit)
        return try await fetch("SELECT record FROM rollouts \(filter) ORDER BY created_at DESC, rowid DESC LIMIT ?", arguments)
    }

    /// See ``RolloutRowStore/active()``.
    public func active() async throws(RolloutError) -> [String] {
        try await fetch(
            "SELECT record FROM rollouts WHERE status NOT IN ('Succeeded', 'Failed', 'Stopped') ORDER BY created_at", []
        )
    }

    /// See ``RolloutRowStore/sentNotifications(_:)``.
    public func sentNotifications(_ deploymentId: String) async throws(RolloutError) -> Set<NotificationEvent> {
        let names: [String] = try await store.read("read notifications") { db in
            try db.values("SELECT event FROM rollout_notifications WHERE deployment_id = ?", [deploymentId], as: String.self)
        }
        return Set(names.compactMap(NotificationEvent.init(rawValue:)))
    }

    /// See ``RolloutRowStore/markSent(_:event:messageId:at:)``.
    public func markSent(_ deploymentId: String, event: NotificationEvent, messageId: String, at: Double) async throws(RolloutError) {
        try await store.write("mark notification sent") { db in
            try db.execute(
                "INSERT OR IGNORE INTO rollout_notifications (deployment_id, event, message_id, sent_at) VALUES (?, ?, ?, ?)",
                [deploymentId, event.rawValue, messageId, at]
            )
        }
    }

    private func fetch(_ sql: String, _ arguments: [any Bindable]) async throws(RolloutError) -> [String] {
        try await store.read("read deployments") { db in try db.values(sql, arguments, as: String.self) }
    }
}
