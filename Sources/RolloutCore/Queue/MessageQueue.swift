/// One message to send.
public struct OutgoingMessage: Sendable, Hashable, Codable {
    /// The body, up to the queue's size limit.
    public var body: String
    /// String message attributes.
    public var attributes: [String: String]?
    /// Delay before the message becomes visible (0–900 s).
    public var delaySeconds: Int?
    /// FIFO message group.
    public var groupId: String?
    /// FIFO deduplication id.
    public var deduplicationId: String?

    /// Creates a message.
    public init(
        body: String, attributes: [String: String]? = nil, delaySeconds: Int? = nil, groupId: String? = nil,
        deduplicationId: String? = nil
    ) {
        self.body = body
        self.attributes = attributes
        self.delaySeconds = delaySeconds
        self.groupId = groupId
        self.deduplicationId = deduplicationId
    }
}

/// A received message.
public struct ReceivedMessage: Sendable, Hashable, Codable {
    /// The queue's message id.
    public var messageId: String
    /// The body.
    public var body: String
    /// String message attributes.
    public var attributes: [String: String]
    /// The handle for ack/nack/extend; new on every receive.
    public var receipt: String
    /// How many times the message was received, this time included.
    public var receiveCount: Int
    /// When it was sent, RFC 3339 UTC.
    public var sentAt: String

    /// Creates a message.
    public init(
        messageId: String, body: String, attributes: [String: String], receipt: String, receiveCount: Int,
        sentAt: String
    ) {
        self.messageId = messageId
        self.body = body
        self.attributes = attributes
        self.receipt = receipt
        self.receiveCount = receiveCount
        self.sentAt = sentAt
    }
}

/// The Queue capability (SQS, or a SQLite table for the `local` provider).
public protocol MessageQueue: Sendable {
    /// The visibility timeout used when a receive does not name one.
    var defaultVisibilitySeconds: Int { get }
    /// The largest body accepted, in bytes.
    var maxMessageBytes: Int { get }
    /// Sends one message and returns its id.
    func send(_ message: OutgoingMessage) async throws -> String
    /// Sends many messages; one result per message, in input order.
    func sendBatch(_ messages: [OutgoingMessage]) async throws -> [Result<String, RolloutError>]
    /// Receives up to `max` messages, waiting up to `waitSeconds` for the first.
    func receive(max: Int, waitSeconds: Int, visibilitySeconds: Int) async throws -> [ReceivedMessage]
    /// Deletes a received message.
    func ack(receipt: String) async throws
    /// Deletes many; one optional error per receipt, in input order.
    func ackBatch(receipts: [String]) async throws -> [RolloutError?]
    /// Makes a received message visible again after `seconds` (0: now), counted from now.
    func changeVisibility(receipt: String, seconds: Int) async throws
}
