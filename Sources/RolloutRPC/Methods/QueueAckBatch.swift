public import RolloutCore

/// `queue.ackBatch`: delete many received messages.
public enum QueueAckBatch: RPCMethod {
    public static let name = "queue.ackBatch"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// Receipts from `queue.receive`.
        public var receipts: [String]

        /// Creates params.
        public init(receipts: [String]) {
            self.receipts = receipts
        }
    }

    /// One receipt's outcome.
    public struct Entry: Codable, Sendable, Hashable {
        /// The receipt.
        public var receipt: String
        /// `{code, message, data}` when it was not deleted.
        public var error: JSONValue?

        /// Creates an entry.
        public init(receipt: String, error: JSONValue? = nil) {
            self.receipt = receipt
            self.error = error
        }
    }

    /// `{results}` in input order.
    public struct Result: Codable, Sendable, Hashable {
        /// One per receipt.
        public var results: [Entry]

        /// Creates a result.
        public init(results: [Entry]) {
            self.results = results
        }
    }
}
