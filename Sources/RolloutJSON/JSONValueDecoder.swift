/// Decodes `Decodable` values from ``JSONValue`` trees, strictly (no coercions).
///
/// - `String` decodes only from a string and `Bool` only from a boolean.
/// - Swift integer types decode only from a number with an exact integral value in range
///   (`5`, `5.0` and `5e0` are fine for `Int`; `5.5` is a `typeMismatch`, `300` for `UInt8` is
///   `dataCorrupted` with a "must be an integer between 0 and 255" description).
/// - `Double`/`Float` decode from any number that is within their range.
/// - `decodeNil` is `true` for `null` and for a missing key, so optionals accept both.
/// - Errors carry the full coding path, with array positions as integer keys.
/// - ``JSONValue``, ``JSONObject`` and ``JSONNumber`` are taken as-is.
public struct JSONValueDecoder: Sendable {
    /// Contextual information made available to `Decodable` implementations as
    /// `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Whether JSON values may bypass containers; only tests turn this off.
    var passThrough = true

    /// Creates a decoder.
    public init() {}

    /// Decodes a value of type `type` from `value`.
    ///
    /// - Throws: `DecodingError` describing the first mismatch and where it is.
    public func decode<T: Decodable>(_ type: T.Type, from value: JSONValue) throws -> T {
        let options = JSONCodingOptions(userInfo: userInfo, passThrough: passThrough)
        return try ValueDecoder(value: value, path: .root, options: options).unbox(type)
    }
}

// MARK: - Decoder

/// Our `Decoder`; it is also the single-value container for its own value.
private struct ValueDecoder: Decoder, SingleValueDecodingContainer, JSONValueSource {
    let value: JSONValue
    let path: CodingPathNode
    let options: JSONCodingOptions

    var codingPath: [any CodingKey] {
        path.keys
    }

    var userInfo: [CodingUserInfoKey: Any] {
        options.userInfo
    }

    var passThroughValue: JSONValue? {
        // Not a ternary: `nil` there would become `JSONValue.null` via ExpressibleByNilLiteral.
        guard options.passThrough else { return Optional.none }
        return value
    }

    /// A decoder for a child value.
    func child(_ value: JSONValue, at path: CodingPathNode) -> ValueDecoder {
        ValueDecoder(value: value, path: path, options: options)
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        guard case .object(let object) = value else {
            throw mismatch(value, JSONObject.self, expected: "an object", at: path)
        }
        return KeyedDecodingContainer(KeyedContainer<Key>(decoder: self, object: object))
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        guard case .array(let elements) = value else {
            throw mismatch(value, [JSONValue].self, expected: "an array", at: path)
        }
        return UnkeyedContainer(decoder: self, elements: elements)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer {
        self
    }

    /// Decodes any `Decodable` from this decoder's value, with fast paths for common types.
    func unbox<T: Decodable>(_ type: T.Type) throws -> T {
        if options.passThrough, T.self == JSONValue.self, let result = value as? T { return result }
        if T.self == String.self, let result = try unboxString(value, at: path) as? T { return result }
        if T.self == Int.self, let result = try unboxInteger(Int.self, value, at: path) as? T { return result }
        if T.self == Bool.self, let result = try unboxBool(value, at: path) as? T { return result }
        if T.self == Double.self, let result = try unboxDouble(value, at: path) as? T { return result }
        return try T(from: self)
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { value.isNull }
    func decode(_ type: Bool.Type) throws -> Bool { try unboxBool(value, at: path) }
    func decode(_ type: String.Type) throws -> String { try unboxString(value, at: path) }
    func decode(_ type: Double.Type) throws -> Double { try unboxDouble(value, at: path) }
    func decode(_ type: Float.Type) throws -> Float { try unboxFloat(value, at: path) }
    func decode(_ type: Int.Type) throws -> Int { try unboxInteger(type, value, at: path) }
    func decode(_ type: Int8.Type) throws -> Int8 { try unboxInteger(type, value, at: path) }
    func decode(_ type: Int16.Type) throws -> Int16 { try unboxInteger(type, value, at: path) }
    func decode(_ type: Int32.Type) throws -> Int32 { try unboxInteger(type, value, at: path) }
    func decode(_ type: Int64.Type) throws -> Int64 { try unboxInteger(type, value, at: path) }
    func decode(_ type: Int128.Type) throws -> Int128 { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt.Type) throws -> UInt { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try unboxInteger(type, value, at: path) }
    func decode(_ type: UInt128.Type) throws -> UInt128 { try unboxInteger(type, value, at: path) }
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try unbox(type) }
}

// MARK: - Conversions
//
// `path` is an autoclosure so that the coding path (a small allocation per level) is only built
// when an error is thrown.

/// The error for finding `value` where `expected` was required: `valueNotFound` for `null`,
/// `typeMismatch` otherwise.
private func mismatch(
    _ value: JSONValue,
    _ type: Any.Type,
    expected: String,
    at path: @autoclosure () -> CodingPathNode
) -> DecodingError {
    let context = DecodingError.Context(
        codingPath: path().keys,
        debugDescription: "Expected \(expected) (\(type)) but found \(value.kindDescription) instead."
    )
    if value.isNull {
        return DecodingError.valueNotFound(type, context)
    }
    return DecodingError.typeMismatch(type, context)
}

private func unboxBool(_ value: JSONValue, at path: @autoclosure () -> CodingPathNode) throws -> Bool {
    guard case .bool(let bool) = value else { throw mismatch(value, Bool.self, expected: "a boolean", at: path()) }
    return bool
}

private func unboxString(_ value: JSONValue, at path: @autoclosure () -> CodingPathNode) throws -> String {
    guard case .string(let string) = value else { throw mismatch(value, String.self, expected: "a string", at: path()) }
    return string
}

private func unboxDouble(_ value: JSONValue, at path: @autoclosure () -> CodingPathNode) throws -> Double {
    guard case .number(let number) = value else { throw mismatch(value, Double.self, expected: "a number", at: path()) }
    let double = number.doubleValue
    guard double.isFinite else {
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: path().keys,
            debugDescription: "must be a number within the range of Double (found \(number.text))"
        ))
    }
    return double
}

private func unboxFloat(_ value: JSONValue, at path: @autoclosure () -> CodingPathNode) throws -> Float {
    guard case .number(let number) = value else { throw mismatch(value, Float.self, expected: "a number", at: path()) }
    // Parse the text directly rather than rounding through Double.
    guard let float = Float(number.text), float.isFinite else {
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: path().keys,
            debugDescription: "must be a number within the range of Float (found \(number.text))"
        ))
    }
    return float
}

private func unboxInteger<I: FixedWidthInteger>(
    _ type: I.Type,
    _ value: JSONValue,
    at path: @autoclosure () -> CodingPathNode
) throws -> I {
    guard case .number(let number) = value else { throw mismatch(value, type, expected: "an integer", at: path()) }
    switch number.integerConversion(to: type) {
    case .exact(let integer):
        return integer
    case .notIntegral:
        throw DecodingError.typeMismatch(type, DecodingError.Context(
            codingPath: path().keys,
            debugDescription: "Expected an integer (\(type)) but found the non-integral number \(number.text) instead."
        ))
    case .outOfRange:
        throw DecodingError.dataCorrupted(DecodingError.Context(
            codingPath: path().keys,
            debugDescription: "must be an integer between \(I.min) and \(I.max) (found \(number.text))"
        ))
    }
}

// MARK: - Keyed container

private struct KeyedContainer<Key: CodingKey>: KeyedDecodingContainerProtocol {
    let decoder: ValueDecoder
    let object: JSONObject

    var codingPath: [any CodingKey] {
        decoder.codingPath
    }

    var allKeys: [Key] {
        object.keys.compactMap { Key(stringValue: $0) }
    }

    func contains(_ key: Key) -> Bool {
        object[key.stringValue] != nil
    }

    /// `true` when the member is `null` or missing.
    func decodeNil(forKey key: Key) throws -> Bool {
        object[key.stringValue]?.isNull ?? true
    }

    /// The member `key`, which must be present.
    private func member(_ key: Key) throws -> JSONValue {
        guard let value = object[key.stringValue] else {
            throw DecodingError.keyNotFound(key, DecodingError.Context(
                codingPath: codingPath,
                debugDescription: "No value associated with key '\(key.stringValue)'."
            ))
        }
        return value
    }

    /// A decoder for the member `key`, which must be present.
    private func memberDecoder(_ key: Key) throws -> ValueDecoder {
        decoder.child(try member(key), at: decoder.path.appending(key))
    }

    func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool { try unboxBool(member(key), at: decoder.path.appending(key)) }
    func decode(_ type: String.Type, forKey key: Key) throws -> String { try unboxString(member(key), at: decoder.path.appending(key)) }
    func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try unboxDouble(member(key), at: decoder.path.appending(key)) }
    func decode(_ type: Float.Type, forKey key: Key) throws -> Float { try unboxFloat(member(key), at: decoder.path.appending(key)) }
    func decode(_ type: Int.Type, forKey key: Key) throws -> Int { try integer(type, key) }
    func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { try integer(type, key) }
    func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { try integer(type, key) }
    func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { try integer(type, key) }
    func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { try integer(type, key) }
    func decode(_ type: Int128.Type, forKey key: Key) throws -> Int128 { try integer(type, key) }
    func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { try integer(type, key) }
    func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { try integer(type, key) }
    func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { try integer(type, key) }
    func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { try integer(type, key) }
    func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { try integer(type, key) }
    func decode(_ type: UInt128.Type, forKey key: Key) throws -> UInt128 { try integer(type, key) }
    func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T { try memberDecoder(key).unbox(type) }

    private func integer<I: FixedWidthInteger>(_ type: I.Type, _ key: Key) throws -> I {
        try unboxInteger(type, member(key), at: decoder.path.appending(key))
    }

    func nestedContainer<NestedKey: CodingKey>(
        keyedBy type: NestedKey.Type,
        forKey key: Key
    ) throws -> KeyedDecodingContainer<NestedKey> {
        try memberDecoder(key).container(keyedBy: type)
    }

    func nestedUnkeyedContainer(forKey key: Key) throws -> any UnkeyedDecodingContainer {
        try memberDecoder(key).unkeyedContainer()
    }

    /// A decoder for the `super` member (`null` if absent).
    func superDecoder() throws -> any Decoder {
        let key = JSONCodingKey.superKey
        return decoder.child(object[key.stringValue] ?? .null, at: decoder.path.appending(key))
    }

    /// A decoder for the member `key` (`null` if absent).
    func superDecoder(forKey key: Key) throws -> any Decoder {
        decoder.child(object[key.stringValue] ?? .null, at: decoder.path.appending(key))
    }
}

// MARK: - Unkeyed container

/// The `debugDescription` used when an unkeyed container runs out of elements.
let unkeyedContainerAtEndDescription = "Unkeyed container is at end."

private struct UnkeyedContainer: UnkeyedDecodingContainer {
    let decoder: ValueDecoder
    let elements: [JSONValue]
    private(set) var currentIndex = 0

    init(decoder: ValueDecoder, elements: [JSONValue]) {
        self.decoder = decoder
        self.elements = elements
    }

    var codingPath: [any CodingKey] {
        decoder.codingPath
    }

    var count: Int? {
        elements.count
    }

    var isAtEnd: Bool {
        currentIndex >= elements.count
    }

    /// The current element; throws `valueNotFound` past the end.
    private func current(_ type: Any.Type) throws -> JSONValue {
        guard !isAtEnd else {
            throw DecodingError.valueNotFound(type, DecodingError.Context(
                codingPath: decoder.path.appending(index: currentIndex).keys,
                debugDescription: unkeyedContainerAtEndDescription
            ))
        }
        return elements[currentIndex]
    }

    /// Decodes the current element with `body` (given the element and a builder for its coding
    /// path) and advances only if that succeeds.
    private mutating func next<T>(
        _ type: T.Type,
        _ body: (JSONValue, () -> CodingPathNode) throws -> T
    ) throws -> T {
        let element = try current(type)
        let path = decoder.path
        let index = currentIndex
        let result = try body(element) { path.appending(index: index) }
        currentIndex += 1
        return result
    }

    /// Like `next`, for values that need a full decoder.
    private mutating func nextDecoder<T>(_ type: T.Type, _ body: (ValueDecoder) throws -> T) throws -> T {
        let decoder = decoder
        return try next(type) { element, path in try body(decoder.child(element, at: path())) }
    }

    mutating func decodeNil() throws -> Bool {
        guard try current(Any?.self).isNull else { return false }
        currentIndex += 1
        return true
    }

    mutating func decode(_ type: Bool.Type) throws -> Bool { try next(type) { try unboxBool($0, at: $1()) } }
    mutating func decode(_ type: String.Type) throws -> String { try next(type) { try unboxString($0, at: $1()) } }
    mutating func decode(_ type: Double.Type) throws -> Double { try next(type) { try unboxDouble($0, at: $1()) } }
    mutating func decode(_ type: Float.Type) throws -> Float { try next(type) { try unboxFloat($0, at: $1()) } }
    mutating func decode(_ type: Int.Type) throws -> Int { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: Int8.Type) throws -> Int8 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: Int16.Type) throws -> Int16 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: Int32.Type) throws -> Int32 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: Int64.Type) throws -> Int64 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: Int128.Type) throws -> Int128 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt.Type) throws -> UInt { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt8.Type) throws -> UInt8 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt16.Type) throws -> UInt16 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt32.Type) throws -> UInt32 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt64.Type) throws -> UInt64 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode(_ type: UInt128.Type) throws -> UInt128 { try next(type) { try unboxInteger(type, $0, at: $1()) } }
    mutating func decode<T: Decodable>(_ type: T.Type) throws -> T { try nextDecoder(type) { try $0.unbox(type) } }

    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type) throws -> KeyedDecodingContainer<NestedKey> {
        try nextDecoder(KeyedDecodingContainer<NestedKey>.self) { try $0.container(keyedBy: type) }
    }

    mutating func nestedUnkeyedContainer() throws -> any UnkeyedDecodingContainer {
        try nextDecoder((any UnkeyedDecodingContainer).self) { try $0.unkeyedContainer() }
    }

    mutating func superDecoder() throws -> any Decoder {
        try nextDecoder((any Decoder).self) { $0 }
    }
}
