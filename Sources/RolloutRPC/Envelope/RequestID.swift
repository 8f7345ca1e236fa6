public import RolloutCore

/// A JSON-RPC request id: a string, a number (kept as its literal text) or null, echoed unchanged.
public struct RequestID: Sendable, Hashable, CustomStringConvertible {
    /// The id exactly as received.
    public let value: JSONValue

    /// Wraps a string, number or null; returns nil for any other JSON type.
    public init?(_ value: JSONValue) {
        switch value {
        case .string, .number, .null: self.value = value
        default: return nil
        }
    }

    /// A string id.
    public init(_ string: String) {
        self.value = .string(string)
    }

    /// An integer id.
    public init(_ number: Int) {
        self.value = .number(JSONNumber(number))
    }

    /// The null id used when the request's id cannot be determined.
    public static let null = RequestID(.null)!

    /// The id as it appears on the wire.
    public var description: String { value.jsonString }
}
