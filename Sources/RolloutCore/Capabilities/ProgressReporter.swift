/// Where a long operation reports how far it got; the server turns reports into `$/progress`
/// notifications for requests that carried a `progressToken`, and drops them otherwise.
public struct ProgressReporter: Sendable {
    private let sink: (@Sendable (_ fields: JSONObject, _ coalescible: Bool) -> Void)?

    /// A reporter that forwards to `sink`.
    public init(_ sink: @escaping @Sendable (_ fields: JSONObject, _ coalescible: Bool) -> Void) {
        self.sink = sink
    }

    private init() {
        self.sink = nil
    }

    /// A reporter that discards everything (the request had no `progressToken`).
    public static let none = ProgressReporter()

    /// Whether anyone listens; lets callers skip building reports.
    public var isActive: Bool { sink != nil }

    /// Reports progress. `coalescible` reports (bytes done) may be dropped by rate limiting;
    /// others (rollout events) are always delivered.
    public func report(_ fields: JSONObject, coalescible: Bool = true) {
        sink?(fields, coalescible)
    }

    /// Reports transfer progress as `{bytesDone, bytesTotal}`.
    public func bytes(done: Int64, total: Int64?, final: Bool = false) {
        guard let sink else { return }
        var fields: JSONObject = ["bytesDone": .number(JSONNumber(done))]
        if let total { fields["bytesTotal"] = .number(JSONNumber(total)) }
        sink(fields, !final)
    }
}
