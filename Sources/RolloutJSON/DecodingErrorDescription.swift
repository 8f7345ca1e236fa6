/// A short human-readable message for a `DecodingError` raised while decoding request params,
/// suitable for a JSON-RPC "invalid params" error.
///
/// The field path joins keys with `.` and array positions as `[i]`:
///
/// - `keyNotFound` → `missing required param 'strategy.percent'`
/// - `typeMismatch` → `param 'messages[3].body' must be a string` (top level:
///   `params must be an object`)
/// - `valueNotFound` (a `null` where a value is required) → `param 'key' must be a string, not null`
/// - `dataCorrupted` whose description starts with `must ` (as produced by ``JSONValueDecoder``
///   for out-of-range integers, or by custom `init(from:)` validation) →
///   `param 'limit' must be an integer between 0 and 255`; any other description is quoted:
///   `invalid param 'mode': <description>`.
///
/// When the expected type is not one of the JSON kinds, the error's `debugDescription` is used.
public func describeDecodingError(_ error: DecodingError) -> String {
    switch error {
    case .keyNotFound(let key, let context):
        return "missing required param '\(formatCodingPath(context.codingPath + [key]))'"

    case .typeMismatch(let type, let context):
        let path = formatCodingPath(context.codingPath)
        guard let expected = describeExpectedType(type) else {
            return invalid(path, context.debugDescription)
        }
        return "\(subject(path)) must be \(expected)"

    case .valueNotFound(let type, let context):
        let path = formatCodingPath(context.codingPath)
        if context.debugDescription == unkeyedContainerAtEndDescription {
            return "missing required param '\(path)'"
        }
        guard let expected = describeExpectedType(type) else {
            return "\(subject(path)) must not be null"
        }
        return "\(subject(path)) must be \(expected), not null"

    case .dataCorrupted(let context):
        let path = formatCodingPath(context.codingPath)
        let detail = context.debugDescription
        if detail.hasPrefix("must ") {
            return "\(subject(path)) \(detail)"
        }
        return invalid(path, detail)

    @unknown default:
        return String(describing: error)
    }
}

/// `params` for the top level, `param 'a.b[2]'` otherwise.
private func subject(_ path: String) -> String {
    path.isEmpty ? "params" : "param '\(path)'"
}

/// `invalid params: detail` / `invalid param 'a.b': detail`.
private func invalid(_ path: String, _ detail: String) -> String {
    "invalid \(subject(path)): \(detail)"
}

/// Joins a coding path as `a.b[2].c`: keys with `.`, array positions as `[i]`.
///
/// A key counts as an array position when it has an `intValue` and its `stringValue` is that
/// number or Foundation's `Index N` spelling.
func formatCodingPath(_ path: [any CodingKey]) -> String {
    var result = ""
    for key in path {
        if let index = key.intValue, key.stringValue == String(index) || key.stringValue == "Index \(index)" {
            result += "[\(index)]"
        } else {
            if !result.isEmpty { result += "." }
            result += key.stringValue
        }
    }
    return result
}

/// `'a.b[2]'`, or `the top level` for an empty path; for diagnostics.
func describeCodingPath(_ path: [any CodingKey]) -> String {
    path.isEmpty ? "the top level" : "'\(formatCodingPath(path))'"
}

/// Marks array types so `describeExpectedType` can recognize any `Array<Element>`.
private protocol ArrayTypeMarker {}
extension Array: ArrayTypeMarker {}

/// Marks dictionary types so `describeExpectedType` can recognize any `Dictionary<Key, Value>`.
private protocol DictionaryTypeMarker {}
extension Dictionary: DictionaryTypeMarker {}

/// The JSON kind a decoding error's expected type stands for, e.g. `an integer`; `nil` when the
/// type is not one of the JSON kinds.
private func describeExpectedType(_ type: Any.Type) -> String? {
    if type == String.self || type == Substring.self || type == Character.self {
        return "a string"
    }
    if type == Bool.self {
        return "a boolean"
    }
    if type is any BinaryInteger.Type {
        return "an integer"
    }
    if type is any BinaryFloatingPoint.Type || type == JSONNumber.self {
        return "a number"
    }
    if type == JSONObject.self || type is any DictionaryTypeMarker.Type {
        return "an object"
    }
    if type is any ArrayTypeMarker.Type {
        return "an array"
    }
    return nil
}
