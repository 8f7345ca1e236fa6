public import RolloutCore
import GRDB
import RolloutRPC
import RolloutStore

/// The `local` provider's Queue (SPEC §5): the `messages` table of the state database, with
/// visibility timeouts, a new receipt on every receive, receive counts, per-group order for
/// messages that carry a `groupId`, and a five-minute deduplication window.
///
/// Long polls wait on an in-process ``QueueSignal`` raised by sends, acks and visibility
/// changes, with a timer for the next message whose visibility lapses; no polling loop.
public final class LocalQueue: MessageQueue {
    /// The visibility timeout used when a receive does not name one
    /// (`[cloud.local].visibility_timeout_secs`).
    public let defaultVisibilitySeconds: Int
    /// The largest body accepted: 1 MiB of UTF-8, as SQS allows.
    public let maxMessageBytes = 1_048_576

    private let pool: DatabasePool
    private let signal = QueueSignal()

    /// How long a deduplication id suppresses resends, in seconds.
    private static let deduplicationWindow = 300.0
    private static let delayRange = 0...900
    private static let visibilityRange = 0...43_200
    private static let receiveMaxRange = 1...10
    private static let waitRange = 0...20

    init(pool: DatabasePool, defaultVisibilitySeconds: Int) {
        self.pool = pool
        self.defaultVisibilitySeconds = defaultVisibilitySeconds
    }

    /// Sends one message. A `deduplicationId` seen in the last five minutes returns the
    /// original message id without sending again. In a keyed `queue.send`, the idempotency
    /// record commits with the message (``IdempotentCall/recordResult(_:in:)``).
    public func send(_ message: OutgoingMessage) async throws -> String {
        try validate(message)
        let call = IdempotentCall.current(for: QueueSend.name)
        let id = try await pool.write { db in
            let id = try Self.insert(message, now: WallClock.now(), in: db)
            try call?.recordResult(QueueSend.Result(messageId: id), in: db)
            return id
        }
        signal.notify()
        return id
    }

    /// Sends many messages in one transaction; a message that is too large or invalid fails
    /// only its own entry. In a keyed `queue.sendBatch`, the idempotency record commits with
    /// the messages.
    public func sendBatch(_ messages: [OutgoingMessage]) async throws -> [Result<String, RolloutError>] {
        let checked = messages.map { message in
            Result { () throws(RolloutError) -> OutgoingMessage in
                try validate(message)
                return message
            }
        }
        let call = IdempotentCall.current(for: QueueSendBatch.name)
        let results = try await pool.write { db in
            let now = WallClock.now()
            let results = try checked.map { item -> Result<String, RolloutError> in
                switch item {
                case .success(let message): .success(try Self.insert(message, now: now, in: db))
                case .failure(let error): .failure(error)
                }
            }
            try call?.recordResult(QueueSendBatch.Result(outcomes: results), in: db)
            return results
        }
        signal.notify()
        return results
    }

    /// Receives up to `max` visible messages, oldest first, making them invisible for
    /// `visibilitySeconds`. With none visible, waits up to `waitSeconds` for a send or for a
    /// message's visibility to lapse; cancellation ends the wait at once.
    public func receive(max: Int, waitSeconds: Int, visibilitySeconds: Int) async throws -> [ReceivedMessage] {
        try Self.check("max", max, in: Self.receiveMaxRange)
        try Self.check("waitSeconds", waitSeconds, in: Self.waitRange)
        try Self.check("visibilitySeconds", visibilitySeconds, in: Self.visibilityRange)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(waitSeconds)
        while true {
            // Subscribe before looking, so a send between the look and the wait still wakes us.
            let subscription = signal.subscribe()
            let taken = try await pool.write { db in
                try Self.take(max, visibilitySeconds: visibilitySeconds, now: WallClock.now(), in: db)
            }
            if !taken.messages.isEmpty { return taken.messages }
            var timeout = deadline - clock.now
            guard timeout > .zero else { return [] }
            if let nextVisibleAt = taken.nextVisibleAt {
                let untilVisible = Duration.milliseconds(Int64(((nextVisibleAt - WallClock.now()) * 1000).rounded(.up)))
                timeout = min(timeout, Swift.max(untilVisible, .zero))
            }
            await subscription.wait(timeout: timeout)
            try Task.checkCancellation()
        }
    }

    /// Deletes a received message; NotFound when the receipt is unknown or was superseded by
    /// a later receive.
    public func ack(receipt: String) async throws {
        let deleted = try await pool.write { db in try Self.delete(receipt: receipt, in: db) }
        guard deleted else { throw Self.unknownReceipt(receipt) }
        signal.notify()
    }

    /// Deletes many received messages in one transaction; one optional error per receipt.
    public func ackBatch(receipts: [String]) async throws -> [RolloutError?] {
        let results = try await pool.write { db in
            try receipts.map { receipt in try Self.delete(receipt: receipt, in: db) ? nil : Self.unknownReceipt(receipt) }
        }
        signal.notify()
        return results
    }

    /// Makes a received message visible again `seconds` (0–43200) from now; 0 makes it
    /// visible at once and wakes waiting receivers.
    public func changeVisibility(receipt: String, seconds: Int) async throws {
        try Self.check("visibilitySeconds", seconds, in: Self.visibilityRange)
        let changed = try await pool.write { db in
            try db.execute(
                sql: "UPDATE messages SET visible_at = ? WHERE receipt = ?",
                arguments: [WallClock.now() + Double(seconds), receipt]
            )
            return db.changesCount > 0
        }
        guard changed else { throw Self.unknownReceipt(receipt) }
        signal.notify()
    }

    // MARK: - Helpers

    private func validate(_ message: OutgoingMessage) throws(RolloutError) {
        let bytes = message.body.utf8.count
        guard bytes <= maxMessageBytes else {
            throw RolloutError(.tooLarge, "the message body is \(bytes) bytes, over the queue's limit of \(maxMessageBytes) bytes")
        }
        if let delay = message.delaySeconds {
            try Self.check("delaySeconds", delay, in: Self.delayRange)
        }
    }

    private static func check(_ param: String, _ value: Int, in range: ClosedRange<Int>) throws(RolloutError) {
        guard range.contains(value) else {
            throw .invalidParams("param '\(param)' must be \(range.lowerBound)–\(range.upperBound) (got \(value))")
        }
    }

    private static func unknownReceipt(_ receipt: String) -> RolloutError {
        .notFound("receipt \"\(receipt)\" is unknown or expired")
    }

    /// Inserts `message`, or returns the id of the message sent with the same deduplication
    /// id inside the window.
    private static func insert(_ message: OutgoingMessage, now: Double, in db: Database) throws -> String {
        try db.execute(sql: "DELETE FROM message_dedup WHERE sent_at <= ?", arguments: [now - deduplicationWindow])
        if let deduplicationId = message.deduplicationId,
            let original = try String.fetchOne(
                db, sql: "SELECT message_id FROM message_dedup WHERE dedup_id = ?", arguments: [deduplicationId]
            )
        {
            return original
        }
        let id = RandomID.make()
        try db.execute(
            sql: """
                INSERT INTO messages (id, body, attributes, group_id, sent_at, visible_at)
                VALUES (?, ?, ?, ?, ?, ?)
                """,
            arguments: [
                id, message.body, StringMapColumn.encode(message.attributes ?? [:]), message.groupId, now,
                now + Double(message.delaySeconds ?? 0),
            ]
        )
        if let deduplicationId = message.deduplicationId {
            try db.execute(
                sql: "INSERT INTO message_dedup (dedup_id, message_id, sent_at) VALUES (?, ?, ?)",
                arguments: [deduplicationId, id, now]
            )
        }
        return id
    }

    /// Takes up to `max` visible messages, oldest first, skipping message groups that have a
    /// message in flight. When there are none, also returns when the next one becomes visible.
    private static func take(
        _ max: Int, visibilitySeconds: Int, now: Double, in db: Database
    ) throws -> (messages: [ReceivedMessage], nextVisibleAt: Double?) {
        let rows = try Row.fetchAll(
            db,
            sql: """
                SELECT id, body, attributes, sent_at, receive_count FROM messages AS m
                WHERE visible_at <= :now
                  AND (group_id IS NULL OR NOT EXISTS (
                      SELECT 1 FROM messages AS g
                      WHERE g.group_id = m.group_id AND g.receipt IS NOT NULL AND g.visible_at > :now))
                ORDER BY sent_at, rowid
                LIMIT :max
                """,
            arguments: ["now": now, "max": max]
        )
        var messages: [ReceivedMessage] = []
        for row in rows {
            let id: String = row["id"]
            let receipt = RandomID.make()
            let receiveCount: Int = row["receive_count"] + 1
            try db.execute(
                sql: "UPDATE messages SET visible_at = ?, receive_count = ?, receipt = ? WHERE id = ?",
                arguments: [now + Double(visibilitySeconds), receiveCount, receipt, id]
            )
            messages.append(
                ReceivedMessage(
                    messageId: id, body: row["body"],
                    attributes: try StringMapColumn.decode(row["attributes"], column: "messages.attributes"),
                    receipt: receipt, receiveCount: receiveCount, sentAt: WallClock.rfc3339(seconds: row["sent_at"])
                )
            )
        }
        guard messages.isEmpty else { return (messages, nil) }
        let next = try Double.fetchOne(db, sql: "SELECT MIN(visible_at) FROM messages WHERE visible_at > ?", arguments: [now])
        return ([], next)
    }

    private static func delete(receipt: String, in db: Database) throws -> Bool {
        try db.execute(sql: "DELETE FROM messages WHERE receipt = ?", arguments: [receipt])
        return db.changesCount > 0
    }
}
