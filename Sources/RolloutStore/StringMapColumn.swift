import RolloutCore

/// How `[String: String]` maps (object metadata, message attributes) are stored: a JSON object
/// text column, keys sorted so equal maps store equal text.
enum StringMapColumn {
    /// The JSON text of `map`.
    static func encode(_ map: [String: String]) -> String {
        var object = JSONObject()
        for key in map.keys.sorted() {
            object[key] = map[key].map(JSONValue.string)
        }
        return JSONValue.object(object).jsonString
    }

    /// The map stored as `text`; throws InternalError when the column is not a JSON object of
    /// strings (a damaged database).
    static func decode(_ text: String, column: String) throws(RolloutError) -> [String: String] {
        let object: JSONObject?
        do {
            object = try JSONParser.parse(text).objectValue
        } catch {
            object = nil
        }
        guard let object else {
            throw .internalError("local provider: column \(column) does not hold a JSON object")
        }
        var map: [String: String] = [:]
        for (key, value) in object {
            guard let string = value.stringValue else {
                throw .internalError("local provider: column \(column) holds a non-string value")
            }
            map[key] = string
        }
        return map
    }
}
