public import RolloutCore

/// `queue.sendBatch`: any number of messages, sent in batches of 10; results in input order.
public enum QueueSendBatch: RPCMethod {
    public static let name = "queue.sendBatch"
    public static let isMutating = true

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The messages.
        public var messages: [OutgoingMessage]

        /// Creates params.
        public init(messages: [OutgoingMessage]) {
            self.messages = messages
        }
    }

    /// One message's outcome: `{messageId}` or `{error}`.
    public struct Entry: Codable, Sendable, Hashable {
        /// Set on success.
        public var messageId: String?
        /// Set on failure: `{code, message, data}`.
        public var error: JSONValue?

        /// Creates an entry.
        public init(messageId: String? = nil, error: JSONValue? = nil) {
            self.messageId = messageId
            self.error = error
        }
    }

    /// `{results}`.
    public struct Result: Codable, Sendable, Hashable {
        /// One per input message, in input order.
        public var results: [Entry]

        /// Creates a result.
        public init(results: [Entry]) {
            self.results = results
        }

        /// The result of a queue's per-message outcomes, in input order: `{messageId}` or
        /// `{error: {code, message, data}}`.
        public init(outcomes: [Swift.Result<String, RolloutError>]) {
            self.results = outcomes.map { outcome in
                switch outcome {
                case .success(let id): Entry(messageId: id)
                case .failure(let error): Entry(error: Outgoing.errorObject(error))
                }
            }
        }
    }
}
