/// `queue.nack`: make a received message visible again after a delay.
public enum QueueNack: RPCMethod {
    public static let name = "queue.nack"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The receipt.
        public var receipt: String
        /// Seconds until visible again, default 0.
        public var delaySeconds: Int?

        /// Creates params.
        public init(receipt: String, delaySeconds: Int? = nil) {
            self.receipt = receipt
            self.delaySeconds = delaySeconds
        }
    }

    public typealias Result = EmptyResult
}
