/// Encodes `Encodable` values into ``JSONValue`` trees (no text involved).
///
/// - Optionals encoded with `encodeIfPresent` (what synthesized conformances use) are omitted
///   when `nil`; `encodeNil` writes `null`.
/// - Integers are written exactly; `Double`/`Float` must be finite, otherwise encoding throws
///   `EncodingError.invalidValue`.
/// - Keyed containers keep the order in which keys were first encoded; encoding a key again
///   replaces its value in place.
/// - ``JSONValue``, ``JSONObject`` and ``JSONNumber`` are inserted as-is.
/// - As with Foundation's encoders, asking one `Encoder` for two different kinds of container, or
///   encoding two single values through it, is a programming error and traps.
public struct JSONValueEncoder: Sendable {
    /// Contextual information made available to `Encodable` implementations as
    /// `Encoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Whether JSON values may bypass containers; only tests turn this off.
    var passThrough = true

    /// Creates an encoder.
    public init() {}

    /// Encodes `value` into a ``JSONValue``.
    ///
    /// A value whose `encode(to:)` encodes nothing at all becomes an empty object.
    ///
    /// - Throws: `EncodingError` if a floating-point value is not finite, or whatever the value's
    ///   own `encode(to:)` throws.
    public func encode<T: Encodable>(_ value: T) throws -> JSONValue {
        let options = JSONCodingOptions(userInfo: userInfo, passThrough: passThrough)
        return try encodeToJSONValue(value, at: .root, options: options)
    }
}

// MARK: - Value conversion

/// Encodes one value found at `path`, with fast paths for JSON and common primitive types.
///
/// `path` is only evaluated when it is needed (a nested encoder or an error), so encoding
/// primitives allocates nothing for it.
private func encodeToJSONValue<T: Encodable>(
    _ value: T,
    at path: @autoclosure () -> CodingPathNode,
    options: JSONCodingOptions
) throws -> JSONValue {
    if options.passThrough {
        if T.self == JSONValue.self, let value = value as? JSONValue { return value }
        if T.self == JSONObject.self, let value = value as? JSONObject { return .object(value) }
        if T.self == JSONNumber.self, let value = value as? JSONNumber { return .number(value) }
    }
    if T.self == String.self, let value = value as? String { return .string(value) }
    if T.self == Bool.self, let value = value as? Bool { return .bool(value) }
    if T.self == Int.self, let value = value as? Int { return .number(JSONNumber(value)) }
    if T.self == Double.self, let value = value as? Double { return try encodeDouble(value, at: path()) }
    let encoder = ValueEncoder(path: path(), options: options)
    try value.encode(to: encoder)
    return encoder.value
}

private func encodeDouble(_ value: Double, at path: @autoclosure () -> CodingPathNode) throws -> JSONValue {
    guard value.isFinite else {
        throw EncodingError.invalidValue(
            value,
            EncodingError.Context(codingPath: path().keys, debugDescription: "Unable to encode \(value) as JSON: numbers must be finite.")
        )
    }
    return .number(JSONNumber(value))
}

private func encodeFloat(_ value: Float, at path: @autoclosure () -> CodingPathNode) throws -> JSONValue {
    guard value.isFinite else {
        throw EncodingError.invalidValue(
            value,
            EncodingError.Context(codingPath: path().keys, debugDescription: "Unable to encode \(value) as JSON: numbers must be finite.")
        )
    }
    // Float's shortest description ("0.1", "1e-07") has the same shape as Double's: valid JSON.
    return .number(JSONNumber(uncheckedText: value.description))
}

private func encodeInteger<I: FixedWidthInteger>(_ value: I) -> JSONValue {
    .number(JSONNumber(uncheckedText: String(value)))
}

// MARK: - Deferred tree

/// What has been encoded at one position. Containers are reference boxes because nested
/// containers and super-encoders are filled in after the call that created them returns.
private enum EncodedNode {
    case value(JSONValue)
    case object(ObjectBox)
    case array(ArrayBox)
    case encoder(ValueEncoder)

    var resolved: JSONValue {
        switch self {
        case .value(let value): value
        case .object(let box): .object(JSONObject(storage: box.members.mapValues(\.resolved)))
        case .array(let box): .array(box.elements.map(\.resolved))
        case .encoder(let encoder): encoder.value
        }
    }
}

private final class ObjectBox {
    var members: OrderedStringMap<EncodedNode>

    init(members: OrderedStringMap<EncodedNode> = OrderedStringMap()) {
        self.members = members
    }
}

private final class ArrayBox {
    var elements: [EncodedNode]

    init(elements: [EncodedNode] = []) {
        self.elements = elements
    }
}

// MARK: - Encoder

private final class ValueEncoder: Encoder, JSONValueSink {
    let path: CodingPathNode
    let options: JSONCodingOptions
    private var storage: EncodedNode?

    init(path: CodingPathNode, options: JSONCodingOptions) {
        self.path = path
        self.options = options
    }

    var codingPath: [any CodingKey] {
        path.keys
    }

    var userInfo: [CodingUserInfoKey: Any] {
        options.userInfo
    }

    /// The encoded result; an empty object if nothing was encoded.
    var value: JSONValue {
        storage?.resolved ?? .object(JSONObject())
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(KeyedContainer<Key>(options: options, box: objectBox(), path: path))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
        UnkeyedContainer(options: options, box: arrayBox(), path: path)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
        SingleValueContainer(encoder: self)
    }

    func storeJSONValue(_ value: JSONValue) -> Bool {
        guard options.passThrough else { return false }
        switch value {
        case .object(let object) where storage != nil:
            // Merge, exactly as encoding the members through a keyed container would.
            let box = objectBox()
            for (key, member) in object {
                box.members.updateValue(.value(member), forKey: key)
            }
        case .array(let elements) where storage != nil:
            arrayBox().elements.append(contentsOf: elements.lazy.map { .value($0) })
        default:
            setSingleValue(value)
        }
        return true
    }

    func setSingleValue(_ value: JSONValue) {
        precondition(
            storage == nil,
            "Attempt to encode a second value at \(describeCodingPath(codingPath)) through a single value container."
        )
        storage = .value(value)
    }

    private func objectBox() -> ObjectBox {
        switch storage {
        case nil:
            let box = ObjectBox()
            storage = .object(box)
            return box
        case .object(let box)?:
            return box
        case .value(.object(let object))?:
            let box = ObjectBox(members: object.storage.mapValues { .value($0) })
            storage = .object(box)
            return box
        default:
            preconditionFailure(
                "Attempt to request a keyed container at \(describeCodingPath(codingPath)) after encoding a different kind of value there."
            )
        }
    }

    private func arrayBox() -> ArrayBox {
        switch storage {
        case nil:
            let box = ArrayBox()
            storage = .array(box)
            return box
        case .array(let box)?:
            return box
        case .value(.array(let elements))?:
            let box = ArrayBox(elements: elements.map { .value($0) })
            storage = .array(box)
            return box
        default:
            preconditionFailure(
                "Attempt to request an unkeyed container at \(describeCodingPath(codingPath)) after encoding a different kind of value there."
            )
        }
    }
}

// MARK: - Containers

private struct KeyedContainer<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let options: JSONCodingOptions
    let box: ObjectBox
    let path: CodingPathNode

    var codingPath: [any CodingKey] {
        path.keys
    }

    private func set(_ value: JSONValue, for key: Key) {
        box.members.updateValue(.value(value), forKey: key.stringValue)
    }

    mutating func encodeNil(forKey key: Key) throws { set(.null, for: key) }
    mutating func encode(_ value: Bool, forKey key: Key) throws { set(.bool(value), for: key) }
    mutating func encode(_ value: String, forKey key: Key) throws { set(.string(value), for: key) }
    mutating func encode(_ value: Double, forKey key: Key) throws { set(try encodeDouble(value, at: path.appending(key)), for: key) }
    mutating func encode(_ value: Float, forKey key: Key) throws { set(try encodeFloat(value, at: path.appending(key)), for: key) }
    mutating func encode(_ value: Int, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: Int8, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: Int16, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: Int32, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: Int64, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: Int128, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt8, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt16, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt32, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt64, forKey key: Key) throws { set(encodeInteger(value), for: key) }
    mutating func encode(_ value: UInt128, forKey key: Key) throws { set(encodeInteger(value), for: key) }

    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
        set(try encodeToJSONValue(value, at: path.appending(key), options: options), for: key)
    }

    mutating func nestedContainer<NestedKey: CodingKey>(
        keyedBy keyType: NestedKey.Type,
        forKey key: Key
    ) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        box.members.updateValue(.object(nested), forKey: key.stringValue)
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(options: options, box: nested, path: path.appending(key)))
    }

    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        box.members.updateValue(.array(nested), forKey: key.stringValue)
        return UnkeyedContainer(options: options, box: nested, path: path.appending(key))
    }

    mutating func superEncoder() -> any Encoder {
        makeSuperEncoder(for: JSONCodingKey.superKey)
    }

    mutating func superEncoder(forKey key: Key) -> any Encoder {
        makeSuperEncoder(for: key)
    }

    private func makeSuperEncoder(for key: any CodingKey) -> any Encoder {
        let encoder = ValueEncoder(path: path.appending(key), options: options)
        box.members.updateValue(.encoder(encoder), forKey: key.stringValue)
        return encoder
    }
}

private struct UnkeyedContainer: UnkeyedEncodingContainer {
    let options: JSONCodingOptions
    let box: ArrayBox
    let path: CodingPathNode

    var codingPath: [any CodingKey] {
        path.keys
    }

    var count: Int {
        box.elements.count
    }

    /// The path of the element about to be appended.
    private var nextPath: CodingPathNode {
        path.appending(index: count)
    }

    private func append(_ value: JSONValue) {
        box.elements.append(.value(value))
    }

    mutating func encodeNil() throws { append(.null) }
    mutating func encode(_ value: Bool) throws { append(.bool(value)) }
    mutating func encode(_ value: String) throws { append(.string(value)) }
    mutating func encode(_ value: Double) throws { append(try encodeDouble(value, at: nextPath)) }
    mutating func encode(_ value: Float) throws { append(try encodeFloat(value, at: nextPath)) }
    mutating func encode(_ value: Int) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: Int8) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: Int16) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: Int32) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: Int64) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: Int128) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt8) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt16) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt32) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt64) throws { append(encodeInteger(value)) }
    mutating func encode(_ value: UInt128) throws { append(encodeInteger(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        append(try encodeToJSONValue(value, at: nextPath, options: options))
    }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type) -> KeyedEncodingContainer<NestedKey> {
        let nested = ObjectBox()
        let nestedPath = nextPath
        box.elements.append(.object(nested))
        return KeyedEncodingContainer(KeyedContainer<NestedKey>(options: options, box: nested, path: nestedPath))
    }

    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
        let nested = ArrayBox()
        let nestedPath = nextPath
        box.elements.append(.array(nested))
        return UnkeyedContainer(options: options, box: nested, path: nestedPath)
    }

    mutating func superEncoder() -> any Encoder {
        let encoder = ValueEncoder(path: nextPath, options: options)
        box.elements.append(.encoder(encoder))
        return encoder
    }
}

private struct SingleValueContainer: SingleValueEncodingContainer {
    let encoder: ValueEncoder

    var codingPath: [any CodingKey] {
        encoder.codingPath
    }

    private func set(_ value: JSONValue) {
        encoder.setSingleValue(value)
    }

    mutating func encodeNil() throws { set(.null) }
    mutating func encode(_ value: Bool) throws { set(.bool(value)) }
    mutating func encode(_ value: String) throws { set(.string(value)) }
    mutating func encode(_ value: Double) throws { set(try encodeDouble(value, at: encoder.path)) }
    mutating func encode(_ value: Float) throws { set(try encodeFloat(value, at: encoder.path)) }
    mutating func encode(_ value: Int) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: Int8) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: Int16) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: Int32) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: Int64) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: Int128) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt8) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt16) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt32) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt64) throws { set(encodeInteger(value)) }
    mutating func encode(_ value: UInt128) throws { set(encodeInteger(value)) }

    mutating func encode<T: Encodable>(_ value: T) throws {
        set(try encodeToJSONValue(value, at: encoder.path, options: encoder.options))
    }
}
