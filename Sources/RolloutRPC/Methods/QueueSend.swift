public import RolloutCore

/// `queue.send`.
public enum QueueSend: RPCMethod {
    public static let name = "queue.send"
    public static let isMutating = true
    public typealias Params = OutgoingMessage

    /// `{messageId}`.
    public struct Result: Codable, Sendable, Hashable {
        /// The queue's id for the message.
        public var messageId: String

        /// Creates a result.
        public init(messageId: String) {
            self.messageId = messageId
        }
    }
}
