public import RolloutCore

/// One element of an incoming line: a request, a notification, or something invalid that still
/// needs an error response.
public enum IncomingItem: Sendable, Hashable {
    /// A call with an id; it gets exactly one response.
    case request(id: RequestID, method: String, params: JSONValue?)
    /// A call without an id; it never gets a response, not even an error.
    case notification(method: String, params: JSONValue?)
    /// Not a valid request object; answered with `error` and `id` (null when unknown).
    case invalid(id: RequestID, error: RolloutError)
}

/// A parsed line.
public enum IncomingMessage: Sendable, Hashable {
    /// A single request object.
    case single(IncomingItem)
    /// A non-empty batch; its responses go out as one array line.
    case batch([IncomingItem])
    /// A line that gets one error object with id null: bad JSON, `[]`, a too-large batch.
    case rejected(RolloutError)
}

/// Parses JSON-RPC 2.0 lines into ``IncomingMessage`` values. Pure: no I/O, no clock.
public enum Envelope {
    /// Parses one line (without its trailing newline); a batch of more than `maxBatchItems`
    /// entries (`[server] max_batch_items`) is rejected as a whole.
    public static func parse(line: UnsafeRawBufferPointer, maxBatchItems: Int) -> IncomingMessage {
        let json: JSONValue
        do {
            json = try JSONParser.parse(line)
        } catch {
            return .rejected(RolloutError(.parseError, "parse error: \(error)"))
        }
        return classify(json, maxBatchItems: maxBatchItems)
    }

    /// Parses one line (without its trailing newline), held in an array.
    public static func parse(line: [UInt8], maxBatchItems: Int) -> IncomingMessage {
        line.withUnsafeBytes { parse(line: $0, maxBatchItems: maxBatchItems) }
    }

    /// Classifies an already parsed JSON text.
    public static func classify(_ json: JSONValue, maxBatchItems: Int) -> IncomingMessage {
        switch json {
        case .array(let elements):
            if elements.isEmpty {
                return .rejected(RolloutError(.invalidRequest, "invalid request: empty batch"))
            }
            if elements.count > maxBatchItems {
                return .rejected(
                    tooLarge("a batch of \(elements.count) entries exceeds max_batch_items (\(maxBatchItems))")
                )
            }
            return .batch(elements.map(item))
        case .object:
            return .single(item(json))
        default:
            return .single(.invalid(id: .null, error: RolloutError(.invalidRequest, "invalid request: expected an object or an array")))
        }
    }

    /// The -32600 answered (with id null) for input over a configured limit: a line over
    /// `max_request_bytes` or a batch over `max_batch_items`; `data.reason` is `"TooLarge"`.
    public static func tooLarge(_ what: String) -> RolloutError {
        RolloutError(.invalidRequest, "invalid request: \(what)", data: ["reason": "TooLarge"])
    }

    /// Classifies one request object.
    static func item(_ json: JSONValue) -> IncomingItem {
        guard case .object(let object) = json else {
            return .invalid(id: .null, error: RolloutError(.invalidRequest, "invalid request: batch items must be objects"))
        }
        let idValue = object["id"]
        let id: RequestID?
        if let idValue {
            guard let valid = RequestID(idValue) else {
                return .invalid(
                    id: .null,
                    error: RolloutError(.invalidRequest, "invalid request: \"id\" must be a string, a number or null")
                )
            }
            id = valid
        } else {
            id = nil
        }
        guard object["jsonrpc"] == .string("2.0") else {
            return .invalid(
                id: id ?? .null, error: RolloutError(.invalidRequest, "invalid request: \"jsonrpc\" must be \"2.0\"")
            )
        }
        guard case .string(let method)? = object["method"] else {
            return .invalid(
                id: id ?? .null, error: RolloutError(.invalidRequest, "invalid request: \"method\" must be a string")
            )
        }
        let params = object["params"]
        if let id {
            return .request(id: id, method: method, params: params)
        }
        return .notification(method: method, params: params)
    }
}
