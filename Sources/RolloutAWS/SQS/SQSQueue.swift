import AWSConfig
public import CurlHTTP
public import RolloutCore
import RolloutCrypto

/// The `aws` provider's Queue (SPEC §4.3): one SQS queue over the AWS JSON 1.0 protocol
/// (`X-Amz-Target: AmazonSQS.<Op>`, `x-amzn-query-mode: true`), through an ``AWSClient`` for
/// the SQS endpoint.
///
/// - Bodies (plus string attributes, as SQS counts them) over ``maxMessageBytes`` are
///   TooLarge before anything is sent; in a batch only that entry fails.
/// - `sendBatch`/`ackBatch` take any count: SQS batches of at most 10 entries and 1 MiB,
///   sent one after the other; results come back in input order. A failed entry is a
///   `RolloutError` (`SenderFault` → fatal, otherwise recoverable) with
///   `data.upstream = {service, code, senderFault}`.
/// - `receive` long-polls with an HTTP timeout of the wait plus 10 s, marked as a long poll
///   so an empty retry bucket cannot turn a polling loop into a hot loop.
/// - A stale or unknown receipt (`ReceiptHandleIsInvalid`, `MessageNotInflight`) is NotFound.
public final class SQSQueue: MessageQueue {
    /// SQS's largest message today (1 MiB), also the largest batch request payload.
    public static let sqsMaxMessageBytes = 1_048_576
    /// Entries per SQS batch call.
    public static let maxBatchEntries = 10
    /// The longest visibility timeout SQS accepts (12 h).
    public static let maxVisibilitySeconds = 43_200
    /// The longest send delay SQS accepts (15 min).
    public static let maxDelaySeconds = 900
    /// The longest long poll SQS accepts.
    public static let maxWaitSeconds = 20
    /// Upstream codes of a receipt that is stale, unknown or no longer in flight.
    public static let unknownReceiptCodes: Set<String> = [
        "ReceiptHandleIsInvalid", "AWS.SimpleQueueService.ReceiptHandleIsInvalid", "InvalidReceiptHandle",
        "MessageNotInflight", "AWS.SimpleQueueService.MessageNotInflight",
    ]

    /// The queue's URL (`QueueUrl` in every request body).
    public let queueURL: String
    /// The visibility timeout used when a receive does not name one.
    public let defaultVisibilitySeconds: Int
    /// The largest message accepted, in bytes (body plus string attributes).
    public let maxMessageBytes: Int

    private let client: AWSClient
    private let timeouts: HTTPTimeouts

    /// A queue reached through `client` (an SQS client).
    ///
    /// - Parameters:
    ///   - queueURL: the queue's URL, as `GetQueueUrl`/`CreateQueue` return it.
    ///   - defaultVisibilitySeconds: `[cloud.aws.sqs].visibility_timeout_secs`.
    ///   - maxMessageBytes: the queue's limit (SQS's 1 MiB unless the queue is set lower).
    ///   - timeouts: per attempt, for everything but `receive` (whose total and stall
    ///     timeouts are its wait plus 10 s).
    public init(
        client: AWSClient,
        queueURL: String,
        defaultVisibilitySeconds: Int,
        maxMessageBytes: Int = SQSQueue.sqsMaxMessageBytes,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    ) {
        self.client = client
        self.queueURL = queueURL
        self.defaultVisibilitySeconds = defaultVisibilitySeconds
        self.maxMessageBytes = min(max(1, maxMessageBytes), Self.sqsMaxMessageBytes)
        self.timeouts = timeouts
    }

    // MARK: Send

    /// `SendMessage`; returns the message id.
    public func send(_ message: OutgoingMessage) async throws -> String {
        try await sendMessage(message)
    }

    /// ``send(_:)`` with its typed error.
    public func sendMessage(_ message: OutgoingMessage) async throws(RolloutError) -> String {
        let message = keyed(message, IdempotentCall.current(for: "queue.send"), index: nil)
        try validate(message, field: "body")
        var body = Self.entry(message)
        body["QueueUrl"] = .string(queueURL)
        let response = try await call("SendMessage", .object(body))
        guard let messageId = response["MessageId"]?.stringValue else {
            throw malformed("SendMessage", "MessageId")
        }
        return messageId
    }

    /// `SendMessageBatch` in batches of at most 10 entries and 1 MiB; one result per message,
    /// in input order. Only cancellation throws; any other failure of a whole batch call
    /// becomes the result of each of its entries (and, when fatal, of every entry not yet sent).
    public func sendBatch(_ messages: [OutgoingMessage]) async throws -> [Result<String, RolloutError>] {
        try await sendMessages(messages)
    }

    /// ``sendBatch(_:)`` with its typed error.
    public func sendMessages(_ messages: [OutgoingMessage]) async throws(RolloutError) -> [Result<String, RolloutError>] {
        let keyedCall = IdempotentCall.current(for: "queue.sendBatch")
        let messages = messages.enumerated().map { index, message in keyed(message, keyedCall, index: index) }
        var results = [Result<String, RolloutError>?](repeating: nil, count: messages.count)
        var sizes: [Int] = []
        var sendable: [Int] = []
        for (index, message) in messages.enumerated() {
            do throws(RolloutError) {
                try validate(message, field: "messages[\(index)].body")
                sendable.append(index)
                sizes.append(Self.size(of: message))
            } catch {
                results[index] = .failure(error)
            }
        }
        let batches = Self.batches(sizes: sizes, limit: Self.sqsMaxMessageBytes).map { $0.map { sendable[$0] } }
        var fatal: RolloutError?
        for batch in batches {
            if let fatal {
                let skipped = RolloutError(fatal.code, "not sent after an earlier batch failed: \(fatal.message)", data: fatal.data)
                for index in batch { results[index] = .failure(skipped) }
                continue
            }
            let entries: [JSONValue] = batch.enumerated().map { position, index in
                var entry = Self.entry(messages[index])
                entry["Id"] = .string(String(position))
                return .object(entry)
            }
            let response: JSONValue
            do {
                response = try await call("SendMessageBatch", ["QueueUrl": .string(queueURL), "Entries": .array(entries)])
            } catch {
                if error.code == .requestCancelled { throw error }
                for index in batch { results[index] = .failure(error) }
                if error.code.kind == .fatal { fatal = error }
                continue
            }
            for item in response["Successful"]?.arrayValue ?? [] {
                guard let position = item["Id"]?.stringValue.flatMap(Int.init), batch.indices.contains(position),
                      let messageId = item["MessageId"]?.stringValue
                else { continue }
                results[batch[position]] = .success(messageId)
            }
            for item in response["Failed"]?.arrayValue ?? [] {
                guard let position = item["Id"]?.stringValue.flatMap(Int.init), batch.indices.contains(position) else {
                    continue
                }
                results[batch[position]] = .failure(entryError("SendMessageBatch", item))
            }
        }
        return results.map { $0 ?? .failure(malformed("SendMessageBatch", "a result for every entry")) }
    }

    // MARK: Receive

    /// `ReceiveMessage`: up to `max` (1–10) messages, waiting up to `waitSeconds` (0–20) for
    /// the first, invisible to others for `visibilitySeconds` (0–43200).
    public func receive(max: Int, waitSeconds: Int, visibilitySeconds: Int) async throws -> [ReceivedMessage] {
        try await receiveMessages(max: max, waitSeconds: waitSeconds, visibilitySeconds: visibilitySeconds)
    }

    /// ``receive(max:waitSeconds:visibilitySeconds:)`` with its typed error.
    public func receiveMessages(max: Int, waitSeconds: Int, visibilitySeconds: Int) async throws(RolloutError)
        -> [ReceivedMessage]
    {
        guard (1...Self.maxBatchEntries).contains(max) else {
            throw .invalidParams("max must be between 1 and \(Self.maxBatchEntries), got \(max)")
        }
        guard (0...Self.maxWaitSeconds).contains(waitSeconds) else {
            throw .invalidParams("waitSeconds must be between 0 and \(Self.maxWaitSeconds), got \(waitSeconds)")
        }
        try Self.checkVisibility(visibilitySeconds, field: "visibilitySeconds")
        let body: JSONValue = [
            "QueueUrl": .string(queueURL),
            "MaxNumberOfMessages": .number(JSONNumber(max)),
            "WaitTimeSeconds": .number(JSONNumber(waitSeconds)),
            "VisibilityTimeout": .number(JSONNumber(visibilitySeconds)),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
            "MessageAttributeNames": ["All"],
        ]
        let pollTimeouts = HTTPTimeouts(
            connect: timeouts.connect, total: .seconds(waitSeconds + 10), stall: .seconds(waitSeconds + 10)
        )
        let response = try await call("ReceiveMessage", body, isLongPoll: true, timeouts: pollTimeouts)
        var messages: [ReceivedMessage] = []
        for item in response["Messages"]?.arrayValue ?? [] {
            guard let messageId = item["MessageId"]?.stringValue, let receipt = item["ReceiptHandle"]?.stringValue else {
                throw malformed("ReceiveMessage", "MessageId and ReceiptHandle")
            }
            var attributes: [String: String] = [:]
            for (name, value) in item["MessageAttributes"]?.objectValue ?? [:] {
                // Only string-typed attributes (String, String.<custom>) are part of the API.
                if let text = value["StringValue"]?.stringValue,
                   value["DataType"]?.stringValue.map({ $0 == "String" || $0.hasPrefix("String.") }) ?? true
                {
                    attributes[name] = text
                }
            }
            let system = item["Attributes"]
            let receiveCount = system?["ApproximateReceiveCount"]?.stringValue.flatMap(Int.init) ?? 1
            let sentMillis = system?["SentTimestamp"]?.stringValue.flatMap(Int64.init) ?? 0
            messages.append(
                ReceivedMessage(
                    messageId: messageId, body: item["Body"]?.stringValue ?? "", attributes: attributes, receipt: receipt,
                    receiveCount: receiveCount, sentAt: RFC3339.format(milliseconds: sentMillis)
                )
            )
        }
        return messages
    }

    // MARK: Ack, visibility

    /// `DeleteMessage`; NotFound for a stale or unknown receipt.
    public func ack(receipt: String) async throws {
        try await deleteMessage(receipt: receipt)
    }

    /// ``ack(receipt:)`` with its typed error.
    public func deleteMessage(receipt: String) async throws(RolloutError) {
        try Self.checkReceipt(receipt, field: "receipt")
        do {
            _ = try await call("DeleteMessage", ["QueueUrl": .string(queueURL), "ReceiptHandle": .string(receipt)])
        } catch {
            throw Self.remapUnknownReceipt(error)
        }
    }

    /// `DeleteMessageBatch` in batches of 10; one optional error per receipt, in input order.
    /// Only cancellation throws; a failed batch call becomes the error of each of its receipts.
    public func ackBatch(receipts: [String]) async throws -> [RolloutError?] {
        try await deleteMessages(receipts: receipts)
    }

    /// ``ackBatch(receipts:)`` with its typed error.
    public func deleteMessages(receipts: [String]) async throws(RolloutError) -> [RolloutError?] {
        var errors = [RolloutError?](repeating: nil, count: receipts.count)
        var valid: [Int] = []
        for (index, receipt) in receipts.enumerated() {
            do throws(RolloutError) {
                try Self.checkReceipt(receipt, field: "receipts[\(index)]")
                valid.append(index)
            } catch {
                errors[index] = error
            }
        }
        var start = 0
        while start < valid.count {
            let batch = Array(valid[start..<min(start + Self.maxBatchEntries, valid.count)])
            start += batch.count
            let entries: [JSONValue] = batch.enumerated().map { position, index in
                ["Id": .string(String(position)), "ReceiptHandle": .string(receipts[index])]
            }
            let response: JSONValue
            do {
                response = try await call("DeleteMessageBatch", ["QueueUrl": .string(queueURL), "Entries": .array(entries)])
            } catch {
                if error.code == .requestCancelled { throw error }
                let mapped = Self.remapUnknownReceipt(error)
                for index in batch { errors[index] = mapped }
                continue
            }
            var answered = Set<Int>()
            for item in response["Successful"]?.arrayValue ?? [] {
                if let position = item["Id"]?.stringValue.flatMap(Int.init) { answered.insert(position) }
            }
            for item in response["Failed"]?.arrayValue ?? [] {
                guard let position = item["Id"]?.stringValue.flatMap(Int.init), batch.indices.contains(position) else {
                    continue
                }
                answered.insert(position)
                errors[batch[position]] = entryError("DeleteMessageBatch", item)
            }
            for (position, index) in batch.enumerated() where !answered.contains(position) {
                errors[index] = malformed("DeleteMessageBatch", "a result for every entry")
            }
        }
        return errors
    }

    /// `ChangeMessageVisibility`: visible again `seconds` (0–43200) from now.
    public func changeVisibility(receipt: String, seconds: Int) async throws {
        try await changeMessageVisibility(receipt: receipt, seconds: seconds)
    }

    /// ``changeVisibility(receipt:seconds:)`` with its typed error.
    public func changeMessageVisibility(receipt: String, seconds: Int) async throws(RolloutError) {
        try Self.checkReceipt(receipt, field: "receipt")
        try Self.checkVisibility(seconds, field: "visibilitySeconds")
        do {
            _ = try await call(
                "ChangeMessageVisibility",
                [
                    "QueueUrl": .string(queueURL), "ReceiptHandle": .string(receipt),
                    "VisibilityTimeout": .number(JSONNumber(seconds)),
                ]
            )
        } catch {
            throw Self.remapUnknownReceipt(error)
        }
    }

    // MARK: Idempotency

    /// The message attribute that carries the idempotency key on a standard queue.
    public static let idempotencyKeyAttribute = "rolloutd-idempotency-key"

    /// Whether the queue is FIFO (SQS requires FIFO queue names to end in `.fifo`).
    public var isFIFO: Bool { queueURL.hasSuffix(".fifo") }

    /// `message` as a keyed call sends it (SPEC §3.2), so that a retry after a crash does not
    /// deliver it twice where SQS can prevent that:
    /// - FIFO queue: a `MessageDeduplicationId` derived from the call (SHA-256 hex of
    ///   ``IdempotentCall/identity`` and the message's position in a batch: 64 characters,
    ///   within SQS's 128) unless the caller gave one. SQS drops a resend with that id for
    ///   five minutes.
    /// - Standard queue: it cannot deduplicate; the message carries the attribute
    ///   ``idempotencyKeyAttribute`` (the key, or `key#position` in a batch) so that consumers
    ///   can, and a crash between the send and its record can deliver it twice.
    func keyed(_ message: OutgoingMessage, _ call: IdempotentCall?, index: Int?) -> OutgoingMessage {
        guard let call else { return message }
        var message = message
        if isFIFO {
            if message.deduplicationId == nil {
                let identity = index.map { call.identity + "\u{0}\($0)" } ?? call.identity
                message.deduplicationId = Digest.sha256(identity).hexString
            }
        } else {
            var attributes = message.attributes ?? [:]
            attributes[Self.idempotencyKeyAttribute] = index.map { "\(call.key)#\($0)" } ?? call.key
            message.attributes = attributes
        }
        return message
    }

    // MARK: Helpers

    private func call(
        _ operation: String, _ body: JSONValue, isLongPoll: Bool = false, timeouts: HTTPTimeouts? = nil
    ) async throws(RolloutError) -> JSONValue {
        try await client.jsonCall(
            target: "AmazonSQS.\(operation)", jsonVersion: "1.0", body: body, isLongPoll: isLongPoll,
            timeouts: timeouts ?? self.timeouts
        )
    }

    /// The `SendMessage` members of `message` (without `QueueUrl`/`Id`).
    static func entry(_ message: OutgoingMessage) -> JSONObject {
        var entry: JSONObject = ["MessageBody": .string(message.body)]
        if let attributes = message.attributes, !attributes.isEmpty {
            var object = JSONObject()
            for name in attributes.keys.sorted() {
                object[name] = ["DataType": "String", "StringValue": .string(attributes[name]!)]
            }
            entry["MessageAttributes"] = .object(object)
        }
        if let delay = message.delaySeconds { entry["DelaySeconds"] = .number(JSONNumber(delay)) }
        if let group = message.groupId { entry["MessageGroupId"] = .string(group) }
        if let dedup = message.deduplicationId { entry["MessageDeduplicationId"] = .string(dedup) }
        return entry
    }

    /// The size SQS counts: the body plus each attribute's name, data type and value.
    static func size(of message: OutgoingMessage) -> Int {
        var size = message.body.utf8.count
        for (name, value) in message.attributes ?? [:] {
            size += name.utf8.count + "String".utf8.count + value.utf8.count
        }
        return size
    }

    /// Splits positions `0..<sizes.count`, in order, into runs of at most 10 whose sizes sum
    /// to at most `limit`.
    static func batches(sizes: [Int], limit: Int) -> [[Int]] {
        var batches: [[Int]] = []
        var current: [Int] = []
        var total = 0
        for (index, size) in sizes.enumerated() {
            if !current.isEmpty, current.count == maxBatchEntries || total + size > limit {
                batches.append(current)
                current = []
                total = 0
            }
            current.append(index)
            total += size
        }
        if !current.isEmpty { batches.append(current) }
        return batches
    }

    private func validate(_ message: OutgoingMessage, field: String) throws(RolloutError) {
        if message.body.isEmpty {
            throw .invalidParams("\(field) must not be empty (SQS needs at least one character)")
        }
        let size = Self.size(of: message)
        if size > maxMessageBytes {
            throw RolloutError(
                .tooLarge,
                "\(field): the message is \(size) bytes (body and attributes), over the queue's limit of \(maxMessageBytes)",
                data: ["maxBytes": .number(JSONNumber(maxMessageBytes)), "size": .number(JSONNumber(size))]
            )
        }
        if let delay = message.delaySeconds, !(0...Self.maxDelaySeconds).contains(delay) {
            throw .invalidParams("delaySeconds must be between 0 and \(Self.maxDelaySeconds), got \(delay)")
        }
    }

    private static func checkVisibility(_ seconds: Int, field: String) throws(RolloutError) {
        guard (0...maxVisibilitySeconds).contains(seconds) else {
            throw .invalidParams("\(field) must be between 0 and \(maxVisibilitySeconds), got \(seconds)")
        }
    }

    private static func checkReceipt(_ receipt: String, field: String) throws(RolloutError) {
        guard !receipt.isEmpty else { throw .invalidParams("\(field) must be a non-empty receipt") }
    }

    /// NotFound "receipt is unknown or expired" for an upstream unknown-receipt error;
    /// anything else unchanged.
    static func remapUnknownReceipt(_ error: RolloutError) -> RolloutError {
        guard let code = error.data["upstream"]?["code"]?.stringValue, unknownReceiptCodes.contains(code) else {
            return error
        }
        return RolloutError(.notFound, "receipt is unknown or expired (\(error.message))", data: error.data)
    }

    /// The error of a `Failed[]` entry: `{Id, Code, Message, SenderFault}`.
    private func entryError(_ operation: String, _ item: JSONValue) -> RolloutError {
        let code = item["Code"]?.stringValue ?? "UnknownError"
        let message = item["Message"]?.stringValue ?? ""
        let senderFault = item["SenderFault"]?.boolValue ?? false
        let upstream: JSONObject = [
            "service": .string(client.service.explainKey), "code": .string(code), "senderFault": .bool(senderFault),
        ]
        let detail = message.isEmpty ? code : "\(code): \(message)"
        let call = "\(client.service.serviceID) \(operation)"
        if Self.unknownReceiptCodes.contains(code) {
            return RolloutError(.notFound, "receipt is unknown or expired (\(call): \(detail))", data: ["upstream": .object(upstream)])
        }
        if RetryClassifier.throttlingCodes.contains(code) {
            return RolloutError(
                .throttled, "\(call) entry was throttled: \(detail)",
                data: ["upstream": .object(upstream), "retryAfterMs": 1000]
            )
        }
        if senderFault {
            return RolloutError(.invalidParams, "AWS rejected the entry: \(detail) (\(call))", data: ["upstream": .object(upstream)])
        }
        return RolloutError(.unavailable, "\(call) entry failed: \(detail)", data: ["upstream": .object(upstream)])
    }

    private func malformed(_ operation: String, _ expected: String) -> RolloutError {
        RolloutError(
            .unavailable, "\(client.service.serviceID) \(operation) returned a response without \(expected)",
            data: ["upstream": .object(["service": .string(client.service.explainKey)])]
        )
    }
}
