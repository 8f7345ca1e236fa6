public import RolloutCore

/// `queue.receive`: long poll for up to 10 messages, optionally leased with `autoExtend`.
public enum QueueReceive: RPCMethod {
    public static let name = "queue.receive"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// 1–10, default 1.
        public var max: Int?
        /// 0–20 seconds of long polling, default 0.
        public var waitSeconds: Int?
        /// Visibility timeout for these messages; default from config.
        public var visibilitySeconds: Int?
        /// Keep them invisible until acked/nacked or this connection closes.
        public var autoExtend: Bool?

        /// Creates params.
        public init(max: Int? = nil, waitSeconds: Int? = nil, visibilitySeconds: Int? = nil, autoExtend: Bool? = nil) {
            self.max = max
            self.waitSeconds = waitSeconds
            self.visibilitySeconds = visibilitySeconds
            self.autoExtend = autoExtend
        }
    }

    /// `{messages}`.
    public struct Result: Codable, Sendable, Hashable {
        /// The messages received (possibly none).
        public var messages: [ReceivedMessage]

        /// Creates a result.
        public init(messages: [ReceivedMessage]) {
            self.messages = messages
        }
    }
}
