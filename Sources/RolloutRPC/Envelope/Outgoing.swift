public import RolloutCore

/// Builds the lines the server writes: responses and notifications.
public enum Outgoing {
    /// `{"jsonrpc":"2.0","id":ID,"result":R}`.
    public static func result(id: RequestID, _ result: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id.value, "result": result])
    }

    /// `{"jsonrpc":"2.0","id":ID,"error":{"code","message","data"}}`.
    public static func error(id: RequestID, _ error: RolloutError) -> JSONValue {
        let body: JSONObject = [
            "code": .number(JSONNumber(error.code.rawValue)),
            "message": .string(error.message),
            "data": .object(error.wireData),
        ]
        return .object(["jsonrpc": "2.0", "id": id.value, "error": .object(body)])
    }

    /// `{"jsonrpc":"2.0","method":M,"params":P}`.
    public static func notification(method: String, params: JSONObject) -> JSONValue {
        .object(["jsonrpc": "2.0", "method": .string(method), "params": .object(params)])
    }

    /// A message serialized as one line, terminated by `\n`.
    public static func line(_ message: JSONValue) -> [UInt8] {
        var bytes: [UInt8] = []
        message.write(to: &bytes)
        bytes.append(UInt8(ascii: "\n"))
        return bytes
    }
}
