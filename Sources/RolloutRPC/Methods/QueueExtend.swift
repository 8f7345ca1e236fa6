/// `queue.extend`: change a received message's visibility timeout, counted from now.
public enum QueueExtend: RPCMethod {
    public static let name = "queue.extend"

    /// Params.
    public struct Params: Codable, Sendable, Hashable {
        /// The receipt.
        public var receipt: String
        /// New visibility timeout, 0–43200 s.
        public var visibilitySeconds: Int

        /// Creates params.
        public init(receipt: String, visibilitySeconds: Int) {
            self.receipt = receipt
            self.visibilitySeconds = visibilitySeconds
        }
    }

    public typealias Result = EmptyResult
}
