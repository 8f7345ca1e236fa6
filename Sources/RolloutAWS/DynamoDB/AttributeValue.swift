public import RolloutCore

/// One DynamoDB attribute value, typed as on the wire (`{"S": "x"}`, `{"N": "12"}`, ...).
///
/// Numbers travel as decimal text and are kept that way (``n(_:)``); binary values keep their
/// base64 text. Build numbers with ``number(_:)``.
public indirect enum AttributeValue: Sendable, Hashable {
    /// `S`: a string.
    case s(String)
    /// `N`: a number, as its decimal text.
    case n(String)
    /// `B`: binary, as base64 text.
    case b(String)
    /// `BOOL`.
    case bool(Bool)
    /// `NULL`.
    case null
    /// `M`: a map of attribute values.
    case m([String: AttributeValue])
    /// `L`: a list of attribute values.
    case l([AttributeValue])
    /// `SS`: a set of strings.
    case ss([String])
    /// `NS`: a set of numbers, as decimal text.
    case ns([String])

    /// `N` holding `value`.
    public static func number(_ value: Int64) -> AttributeValue {
        .n(String(value))
    }

    /// The string of an `S`.
    public var stringValue: String? {
        if case .s(let value) = self { return value }
        return nil
    }

    /// The integer of an `N` that holds one.
    public var int64Value: Int64? {
        if case .n(let text) = self { return Int64(text) }
        return nil
    }

    /// The value of a `BOOL`.
    public var boolValue: Bool? {
        if case .bool(let value) = self { return value }
        return nil
    }

    /// The members of an `M`.
    public var mapValue: [String: AttributeValue]? {
        if case .m(let value) = self { return value }
        return nil
    }

    /// The elements of an `L`.
    public var listValue: [AttributeValue]? {
        if case .l(let value) = self { return value }
        return nil
    }

    /// The wire form: a one-member object named after the type.
    public var json: JSONValue {
        switch self {
        case .s(let value): ["S": .string(value)]
        case .n(let text): ["N": .string(text)]
        case .b(let base64): ["B": .string(base64)]
        case .bool(let value): ["BOOL": .bool(value)]
        case .null: ["NULL": true]
        case .m(let members): ["M": .object(Self.json(members))]
        case .l(let elements): ["L": .array(elements.map(\.json))]
        case .ss(let strings): ["SS": .array(strings.map(JSONValue.string))]
        case .ns(let numbers): ["NS": .array(numbers.map(JSONValue.string))]
        }
    }

    /// Parses the wire form; nil for anything that is not one typed value.
    public init?(json: JSONValue) {
        guard let object = json.objectValue, object.count == 1, let member = object.first(where: { _ in true }) else {
            return nil
        }
        let value = member.value
        switch member.key {
        case "S": guard let string = value.stringValue else { return nil }; self = .s(string)
        case "N": guard let text = value.stringValue else { return nil }; self = .n(text)
        case "B": guard let text = value.stringValue else { return nil }; self = .b(text)
        case "BOOL": guard let bool = value.boolValue else { return nil }; self = .bool(bool)
        case "NULL": self = .null
        case "M":
            guard let members = value.objectValue, let item = Self.item(members) else { return nil }
            self = .m(item)
        case "L":
            guard let elements = value.arrayValue else { return nil }
            let values = elements.compactMap(AttributeValue.init(json:))
            guard values.count == elements.count else { return nil }
            self = .l(values)
        case "SS", "NS":
            guard let elements = value.arrayValue else { return nil }
            let strings = elements.compactMap(\.stringValue)
            guard strings.count == elements.count else { return nil }
            self = member.key == "SS" ? .ss(strings) : .ns(strings)
        default: return nil
        }
    }

    /// An item (or key, or `ExpressionAttributeValues`) in wire form, members sorted by name
    /// so that a request's bytes do not depend on dictionary order.
    public static func json(_ item: [String: AttributeValue]) -> JSONObject {
        var object = JSONObject()
        for name in item.keys.sorted() {
            object[name] = item[name]?.json
        }
        return object
    }

    /// Parses an item in wire form; nil when any member is not a typed value.
    public static func item(_ object: JSONObject) -> [String: AttributeValue]? {
        var item: [String: AttributeValue] = [:]
        for (name, value) in object {
            guard let attribute = AttributeValue(json: value) else { return nil }
            item[name] = attribute
        }
        return item
    }
}

/// A DynamoDB item (or primary key): attribute names to values.
public typealias DynamoDBItem = [String: AttributeValue]
