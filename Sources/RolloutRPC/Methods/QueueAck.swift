/// `queue.ack`: delete a received message.
public enum QueueAck: RPCMethod {
    public static let name = "queue.ack"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The receipt from `queue.receive`.
        public var receipt: String

        /// Creates params.
        public init(receipt: String) {
            self.receipt = receipt
        }
    }

    public typealias Result = EmptyResult
}
