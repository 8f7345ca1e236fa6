public import RolloutCore
import RolloutRPC
import RolloutSystem

/// The `local` provider's Queue (SPEC §5): messages in the state database (``LocalMessageTable``), with
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

    private let table: any LocalMessageTable
    private let signal = QueueSignal()

    /// How long a deduplication id suppresses resends, in seconds.
    private static let deduplicationWindow = 300.0
    private static let delayRange = 0...900
    private static let visibilityRange = 0...43_200
    private static let receiveMaxRange = 1...10
    private static let waitRange = 0...20

    init(table: any LocalMessageTable, defaultVisibilitySeconds: Int) {
        self.table = table
        self.defaultVisibilitySeconds = defaultVisibilitySeconds
    }

    /// Sends one message. A `deduplicationId` seen in the last five minutes returns the
    /// original message id without sending again. In a keyed `queue.send`, the idempotency
    /// record commits with the message (``FinishRecord``).
    public func send(_ message: OutgoingMessage) async throws -> String {
        try validate(message)
        let record = IdempotentCall.current(for: QueueSend.name).map { call in
            FinishRecord<[Result<String, RolloutError>]>(call) { results in
                try JSONValueEncoder().encode(QueueSend.Result(messageId: results[0].get()))
            }
        }
        let results = try await table.insert(
            [.success(message)], ids: [RandomID.make()], now: WallClock.seconds(), deduplicationWindow: Self.deduplicationWindow,
            finishing: record
        )
        signal.notify()
        return try results[0].get()
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
        let record = FinishRecord<[Result<String, RolloutError>]>.current(for: QueueSendBatch.name) { results in
            QueueSendBatch.Result(outcomes: results)
        }
        let results = try await table.insert(
            checked, ids: checked.map { _ in RandomID.make() }, now: WallClock.seconds(),
            deduplicationWindow: Self.deduplicationWindow, finishing: record
        )
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
            let taken = try await table.take(
                receipts: (0..<max).map { _ in RandomID.make() }, visibilitySeconds: visibilitySeconds, now: WallClock.seconds()
            )
            if !taken.messages.isEmpty {
                return taken.messages.map { message in
                    ReceivedMessage(
                        messageId: message.id, body: message.body, attributes: message.attributes, receipt: message.receipt,
                        receiveCount: message.receiveCount, sentAt: RFC3339.format(seconds: message.sentAt)
                    )
                }
            }
            var timeout = deadline - clock.now
            guard timeout > .zero else { return [] }
            if let nextVisibleAt = taken.nextVisibleAt {
                let untilVisible = Duration.milliseconds(Int64(((nextVisibleAt - WallClock.seconds()) * 1000).rounded(.up)))
                timeout = min(timeout, Swift.max(untilVisible, .zero))
            }
            await subscription.wait(timeout: timeout)
            try Task.checkCancellation()
        }
    }

    /// Deletes a received message; NotFound when the receipt is unknown or was superseded by
    /// a later receive.
    public func ack(receipt: String) async throws {
        let deleted = try await table.delete(receipts: [receipt])
        guard deleted.first == true else { throw Self.unknownReceipt(receipt) }
        signal.notify()
    }

    /// Deletes many received messages in one transaction; one optional error per receipt.
    public func ackBatch(receipts: [String]) async throws -> [RolloutError?] {
        let deleted = try await table.delete(receipts: receipts)
        let results = zip(receipts, deleted).map { receipt, deleted in deleted ? nil : Self.unknownReceipt(receipt) }
        signal.notify()
        return results
    }

    /// Makes a received message visible again `seconds` (0–43200) from now; 0 makes it
    /// visible at once and wakes waiting receivers.
    public func changeVisibility(receipt: String, seconds: Int) async throws {
        try Self.check("visibilitySeconds", seconds, in: Self.visibilityRange)
        let changed = try await table.setVisibleAt(WallClock.seconds() + Double(seconds), receipt: receipt)
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
}
