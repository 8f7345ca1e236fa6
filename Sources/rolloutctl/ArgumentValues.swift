import ArgumentParser
import RolloutCore

/// Parsing of option values that ArgumentParser leaves as strings.
enum ArgumentValues {
    /// `k=v` items (`--metadata`, `--attr`) as a JSON object of strings; the value may contain
    /// `=`, the key may not be empty.
    static func pairs(_ items: [String], option: String) throws(ValidationError) -> [String: String] {
        var pairs: [String: String] = [:]
        for item in items {
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ValidationError("\(option) expects KEY=VALUE (got '\(item)')")
            }
            pairs[String(item[..<equals])] = String(item[item.index(after: equals)...])
        }
        return pairs
    }

    /// `START-END` (inclusive byte offsets).
    static func byteRange(_ text: String) throws(ValidationError) -> ByteRange {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, let start = Int64(parts[0]), let end = Int64(parts[1]), start >= 0, end >= start else {
            throw ValidationError("--range expects START-END with 0 <= START <= END, both inclusive byte offsets (got '\(text)')")
        }
        return ByteRange(start: start, end: end)
    }

    /// A JSON object given on the command line (`call METHOD JSON`).
    static func object(_ text: String, argument: String) throws(ValidationError) -> JSONObject {
        let value: JSONValue
        do {
            value = try JSONParser.parse(text)
        } catch {
            throw ValidationError("\(argument) is not valid JSON: \(error)")
        }
        guard case .object(let object) = value else {
            throw ValidationError("\(argument) must be a JSON object (params are by name)")
        }
        return object
    }
}

extension JSONValue {
    /// An integral JSON number.
    static func integer(_ value: Int) -> JSONValue {
        .number(JSONNumber(value))
    }
}
