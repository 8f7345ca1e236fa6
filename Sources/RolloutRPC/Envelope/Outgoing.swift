public import RolloutCore

/// Builds the lines the server writes: responses and notifications.
public enum Outgoing {
    /// `{"jsonrpc":"2.0","id":ID,"result":R}`.
    public static func result(id: RequestID, _ result: JSONValue) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id.value, "result": result])
    }

    /// `{"jsonrpc":"2.0","id":ID,"error":{"code","message","data"}}`.
    public static func error(id: RequestID, _ error: RolloutError) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id.value, "error": errorObject(error)])
    }

    /// The wire form of an error: `{"code","message","data"}` (also used for one failed entry of
    /// a batch result).
    public static func errorObject(_ error: RolloutError) -> JSONValue {
        .object([
            "code": .number(JSONNumber(error.code.rawValue)),
            "message": .string(error.message),
            "data": .object(error.wireData),
        ])
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
