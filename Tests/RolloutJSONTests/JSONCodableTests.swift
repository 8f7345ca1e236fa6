import Testing
@testable import RolloutJSON

// MARK: - Fixtures

private struct Strategy: Codable, Equatable {
    var kind: String
    var percent: Int
    var steps: [Int]?
}

private struct Message: Codable, Equatable {
    var id: UInt64
    var body: String
    var attributes: [String: String]
    var priority: Int8?
}

private struct Envelope: Codable, Equatable {
    var key: String
    var strategy: Strategy
    var messages: [Message]
    var limit: Int?
    var ratio: Double
    var scale: Float
    var enabled: Bool
    var extra: JSONValue
    var meta: JSONObject?
    var number: JSONNumber
    var matrix: [[Int]]
    var big: UInt64
    var huge: Int128
}

private struct Box<T: Codable & Equatable>: Codable, Equatable {
    var v: T
}

private enum Mode: String, Codable {
    case fast, safe
}

/// Exercises nested keyed/unkeyed containers in both directions.
private struct Nested: Codable, Equatable {
    var a: Int
    var inner: String
    var flags: [Bool]
    var tail: String

    enum Keys: String, CodingKey { case a, nested, list }
    enum InnerKeys: String, CodingKey { case inner }

    init(a: Int, inner: String, flags: [Bool], tail: String) {
        self.a = a
        self.inner = inner
        self.flags = flags
        self.tail = tail
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        try container.encode(a, forKey: .a)
        var nested = container.nestedContainer(keyedBy: InnerKeys.self, forKey: .nested)
        try nested.encode(inner, forKey: .inner)
        var list = container.nestedUnkeyedContainer(forKey: .list)
        for flag in flags {
            try list.encode(flag)
        }
        var last = list.nestedContainer(keyedBy: InnerKeys.self)
        try last.encode(tail, forKey: .inner)
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        a = try container.decode(Int.self, forKey: .a)
        inner = try container.nestedContainer(keyedBy: InnerKeys.self, forKey: .nested).decode(String.self, forKey: .inner)
        var list = try container.nestedUnkeyedContainer(forKey: .list)
        flags = []
        for _ in 0..<((list.count ?? 1) - 1) {
            flags.append(try list.decode(Bool.self))
        }
        tail = try list.nestedContainer(keyedBy: InnerKeys.self).decode(String.self, forKey: .inner)
    }
}

private class Animal: Codable {
    let legs: Int

    init(legs: Int) {
        self.legs = legs
    }
}

private final class Dog: Animal {
    let name: String

    enum DogKeys: CodingKey { case name }

    init(name: String, legs: Int) {
        self.name = name
        super.init(legs: legs)
    }

    override func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: DogKeys.self)
        try container.encode(name, forKey: .name)
        try super.encode(to: container.superEncoder())
    }

    required init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: DogKeys.self)
        name = try container.decode(String.self, forKey: .name)
        try super.init(from: container.superDecoder())
    }
}

/// Reads exactly three integers from an array.
private struct Triple: Codable, Equatable {
    var values: [Int]

    init(values: [Int]) {
        self.values = values
    }

    init(from decoder: any Decoder) throws {
        var container = try decoder.unkeyedContainer()
        values = [try container.decode(Int.self), try container.decode(Int.self), try container.decode(Int.self)]
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.unkeyedContainer()
        try container.encode(values[0])
        // The remaining values go through super-encoders, which must land in order.
        for value in values.dropFirst() {
            try value.encode(to: container.superEncoder())
        }
    }
}

private struct Holder: Codable, Equatable {
    var pair: Triple
}

private func sampleEnvelope() throws -> Envelope {
    Envelope(
        key: "k1",
        strategy: Strategy(kind: "canary", percent: 10, steps: [1, 5, 10]),
        messages: [
            Message(id: 1, body: "hello\nworld", attributes: ["a": "b"], priority: nil),
            Message(id: 2, body: "é😀", attributes: [:], priority: -3),
        ],
        limit: nil,
        ratio: 0.25,
        scale: 0.1,
        enabled: true,
        extra: ["free": ["form", .number(try #require(JSONNumber(text: "1.50"))), nil]],
        meta: ["trace": "abc", "n": 1],
        number: try #require(JSONNumber(text: "12345678901234567890123")),
        matrix: [[1, 2], [], [3]],
        big: .max,
        huge: .min
    )
}

/// Valid params for `Envelope`, to be broken one field at a time.
private func validParams() -> JSONObject {
    [
        "key": "k",
        "strategy": ["kind": "canary", "percent": 10],
        "messages": [
            ["id": 1, "body": "a", "attributes": [:]],
            ["id": 2, "body": "b", "attributes": ["x": "y"]],
        ],
        "ratio": 0.5,
        "scale": 1,
        "enabled": true,
        "extra": nil,
        "number": 3,
        "matrix": [[1], [2, 3]],
        "big": 1,
        "huge": 2,
    ]
}

private func params(_ change: (inout JSONObject) -> Void) -> JSONValue {
    var object = validParams()
    change(&object)
    return .object(object)
}

private func decodingError<T: Decodable>(_ type: T.Type, from value: JSONValue) -> DecodingError? {
    #expect(throws: DecodingError.self) {
        try JSONValueDecoder().decode(type, from: value)
    }
}

/// The coding path of a decoding error, spelled with `formatCodingPath`.
private func path(of error: DecodingError?) -> String? {
    switch error {
    case .typeMismatch(_, let context)?, .valueNotFound(_, let context)?, .dataCorrupted(let context)?:
        formatCodingPath(context.codingPath)
    case .keyNotFound(let key, let context)?:
        formatCodingPath(context.codingPath + [key])
    default:
        nil
    }
}

private let slowEncoder: JSONValueEncoder = {
    var encoder = JSONValueEncoder()
    encoder.passThrough = false
    return encoder
}()

private let slowDecoder: JSONValueDecoder = {
    var decoder = JSONValueDecoder()
    decoder.passThrough = false
    return decoder
}()

// MARK: - Tests

@Suite("JSON Codable bridge")
struct JSONCodableTests {
    @Test("nested structs round-trip; nil optionals are omitted")
    func roundTrip() throws {
        let sample = try sampleEnvelope()
        let encoded = try JSONValueEncoder().encode(sample)
        let object = try #require(encoded.objectValue)
        #expect(object.keys == ["key", "strategy", "messages", "ratio", "scale", "enabled", "extra", "meta", "number", "matrix", "big", "huge"])
        #expect(object["limit"] == nil)
        #expect(encoded["messages"]?.arrayValue?.first?.objectValue?.keys == ["id", "body", "attributes"])
        #expect(encoded["number"]?.jsonString == "12345678901234567890123")
        #expect(encoded["extra"]?.jsonString == #"{"free":["form",1.50,null]}"#)
        #expect(encoded["scale"]?.jsonString == "0.1")
        #expect(encoded["ratio"]?.jsonString == "0.25")
        #expect(encoded["big"]?.jsonString == "18446744073709551615")
        #expect(encoded["huge"]?.jsonString == "-170141183460469231731687303715884105728")

        #expect(try JSONValueDecoder().decode(Envelope.self, from: encoded) == sample)
        // And through text.
        let reparsed = try JSONParser.parse(encoded.serialized())
        #expect(try JSONValueDecoder().decode(Envelope.self, from: reparsed) == sample)
    }

    @Test("JSONValue, JSONObject and JSONNumber pass through unchanged")
    func passThrough() throws {
        let value = try JSONParser.parse(#"{"z":1.50,"a":[-0,1E+2,{"k":null}],"s":"x"}"#)
        #expect(try JSONValueEncoder().encode(value) == value)
        #expect(try JSONValueEncoder().encode(value).jsonString == value.jsonString)
        #expect(try JSONValueDecoder().decode(JSONValue.self, from: value).jsonString == value.jsonString)
        let object = try #require(value.objectValue)
        #expect(try JSONValueDecoder().decode(JSONObject.self, from: value).keys == ["z", "a", "s"])
        #expect(try JSONValueEncoder().encode(object) == value)
        let number = try JSONValueDecoder().decode(JSONNumber.self, from: value["z"] ?? nil)
        #expect(number.text == "1.50")
        #expect(try JSONValueEncoder().encode(number).jsonString == "1.50")
        #expect(try JSONValueEncoder().encode(Box(v: value)) == ["v": value])
        #expect(try JSONValueDecoder().decode(Box<JSONValue>.self, from: ["v": value]).v == value)
        #expect(try JSONValueDecoder().decode(Box<JSONValue>.self, from: ["v": nil]).v == .null)
        #expect(try JSONValueDecoder().decode(Box<JSONValue?>.self, from: ["v": nil]).v == nil)
    }

    @Test("JSON types also work through plain containers, as foreign coders use them")
    func containerPath() throws {
        let value: JSONValue = ["z": 1, "a": [true, nil, "s", 2.5, -7, ["deep": [:]]], "e": [], "u": .number(JSONNumber(UInt64.max))]
        let encoded = try slowEncoder.encode(value)
        #expect(encoded == value)
        #expect(encoded.jsonString == value.jsonString)
        let decoded = try slowDecoder.decode(JSONValue.self, from: value)
        #expect(decoded.jsonString == value.jsonString)

        // Through containers, numbers go via Int64/UInt64/Double: equal values, not always equal text.
        let fraction = try JSONParser.parse("[1.50, 5, 1e2]")
        #expect(try slowEncoder.encode(fraction).jsonString == "[1.5,5,100.0]")
        #expect(try slowDecoder.decode(JSONValue.self, from: fraction).jsonString == "[1.5,5,100]")

        let representable = try sampleEnvelopeWithPlainNumbers()
        #expect(try slowEncoder.encode(representable) == JSONValueEncoder().encode(representable))
        #expect(try slowDecoder.decode(Envelope.self, from: slowEncoder.encode(representable)) == representable)

        let error = #expect(throws: DecodingError.self) { try slowDecoder.decode(JSONObject.self, from: [1]) }
        #expect(error.map(describeDecodingError) == "params must be an object")
    }

    private func sampleEnvelopeWithPlainNumbers() throws -> Envelope {
        var sample = try sampleEnvelope()
        sample.extra = ["free": ["form", 1.5, nil, 3]]
        sample.number = JSONNumber(42)
        return sample
    }

    @Test("nested containers in both directions")
    func nestedContainers() throws {
        let value = Nested(a: 1, inner: "x", flags: [true, false], tail: "t")
        let encoded = try JSONValueEncoder().encode(value)
        #expect(encoded.jsonString == #"{"a":1,"nested":{"inner":"x"},"list":[true,false,{"inner":"t"}]}"#)
        #expect(try JSONValueDecoder().decode(Nested.self, from: encoded) == value)
    }

    @Test("super encoders and decoders")
    func superCoders() throws {
        let dog = Dog(name: "Rex", legs: 4)
        let encoded = try JSONValueEncoder().encode(dog)
        #expect(encoded.jsonString == #"{"name":"Rex","super":{"legs":4}}"#)
        let decoded = try JSONValueDecoder().decode(Dog.self, from: encoded)
        #expect(decoded.name == "Rex")
        #expect(decoded.legs == 4)

        let triple = Triple(values: [1, 2, 3])
        #expect(try JSONValueEncoder().encode(triple).jsonString == "[1,2,3]")
        #expect(try JSONValueDecoder().decode(Triple.self, from: [1, 2, 3]) == triple)
    }

    @Test("encoding details: replaced keys, explicit nil, empty values, integers, userInfo")
    func encodingDetails() throws {
        struct Twice: Encodable {
            enum Keys: String, CodingKey { case a, b }
            func encode(to encoder: any Encoder) throws {
                var container = encoder.container(keyedBy: Keys.self)
                try container.encode(1, forKey: .a)
                try container.encodeNil(forKey: .b)
                try container.encode("again", forKey: .a)
                var second = encoder.container(keyedBy: Keys.self)
                try second.encode(true, forKey: .b)
            }
        }
        #expect(try JSONValueEncoder().encode(Twice()).jsonString == #"{"a":"again","b":true}"#)

        struct Nothing: Encodable {
            func encode(to encoder: any Encoder) throws {}
        }
        #expect(try JSONValueEncoder().encode(Nothing()) == [:])

        struct Widths: Encodable {
            var a: Int8 = .min, b: UInt16 = .max, c: Int32 = -5, d: UInt = 7, e: UInt128 = .max
        }
        #expect(try JSONValueEncoder().encode(Widths()).jsonString
            == #"{"a":-128,"b":65535,"c":-5,"d":7,"e":340282366920938463463374607431768211455}"#)

        struct ReadsUserInfo: Encodable {
            let key: CodingUserInfoKey
            func encode(to encoder: any Encoder) throws {
                var container = encoder.singleValueContainer()
                try container.encode(encoder.userInfo[key] as? String ?? "none")
            }
        }
        let key = try #require(CodingUserInfoKey(rawValue: "tenant"))
        var encoder = JSONValueEncoder()
        encoder.userInfo[key] = "acme"
        #expect(try encoder.encode([ReadsUserInfo(key: key)]) == ["acme"])

        #expect(try JSONValueEncoder().encode(["b": 1, "a": 2] as [String: Int]).objectValue?.count == 2)
        #expect(try JSONValueEncoder().encode([Int?.none, 1]) == [nil, 1])
    }

    @Test("non-finite floating-point values are an encoding error with a path")
    func nonFinite() throws {
        for bad in [Double.nan, .infinity, -.infinity] {
            let error = #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Box(v: [1, bad])) }
            guard case .invalidValue(_, let context)? = error else {
                Issue.record("expected invalidValue, got \(String(describing: error))")
                continue
            }
            #expect(formatCodingPath(context.codingPath) == "v[1]")
        }
        #expect(throws: EncodingError.self) { try JSONValueEncoder().encode(Box(v: Float.infinity)) }
    }

    // MARK: Decoding strictness

    @Test("integers decode only from exact integral numbers", arguments: [
        ("5", 5), ("5.0", 5), ("5e0", 5), ("50E-1", 5), ("-0", 0), ("-9223372036854775808", Int.min),
    ])
    func integerAccepted(_ text: String, _ expected: Int) throws {
        let value = try JSONParser.parse(#"{"v":\#(text)}"#)
        #expect(try JSONValueDecoder().decode(Box<Int>.self, from: value).v == expected)
        #expect(try slowDecoder.decode(Box<Int>.self, from: value).v == expected)
    }

    @Test("integers reject fractions, strings, booleans, null and out-of-range values", arguments: [
        (#"{"v":5.5}"#, "param 'v' must be an integer"),
        (#"{"v":1e-1}"#, "param 'v' must be an integer"),
        (#"{"v":"5"}"#, "param 'v' must be an integer"),
        (#"{"v":true}"#, "param 'v' must be an integer"),
        (#"{"v":null}"#, "param 'v' must be an integer, not null"),
        (#"{}"#, "missing required param 'v'"),
        (#"{"v":9223372036854775808}"#, "param 'v' must be an integer between -9223372036854775808 and 9223372036854775807 (found 9223372036854775808)"),
        (#"{"v":1e30}"#, "param 'v' must be an integer between -9223372036854775808 and 9223372036854775807 (found 1e30)"),
    ])
    func integerRejected(_ json: String, _ message: String) throws {
        let error = decodingError(Box<Int>.self, from: try JSONParser.parse(json))
        #expect(error.map(describeDecodingError) == message)
        #expect(path(of: error) == "v")
    }

    @Test("narrow integer ranges")
    func narrowIntegers() throws {
        #expect(try JSONValueDecoder().decode(Box<UInt8>.self, from: ["v": 255]).v == 255)
        let error = decodingError(Box<UInt8>.self, from: ["v": 256])
        guard case .dataCorrupted? = error else {
            Issue.record("expected dataCorrupted, got \(String(describing: error))")
            return
        }
        #expect(error.map(describeDecodingError) == "param 'v' must be an integer between 0 and 255 (found 256)")
        #expect(decodingError(Box<UInt64>.self, from: ["v": -1]).map(describeDecodingError)
            == "param 'v' must be an integer between 0 and 18446744073709551615 (found -1)")
        #expect(try JSONValueDecoder().decode(Box<UInt64>.self, from: JSONParser.parse(#"{"v":18446744073709551615}"#)).v == .max)
        #expect(try JSONValueDecoder().decode(Box<Int128>.self, from: JSONParser.parse(#"{"v":-1.7e38}"#)).v == -170_000_000_000_000_000_000_000_000_000_000_000_000)
        #expect(try JSONValueDecoder().decode([Int16].self, from: [1, -2, 3.0]) == [1, -2, 3])
    }

    @Test("strings, booleans and floating point are strict")
    func otherPrimitives() throws {
        #expect(decodingError(Box<String>.self, from: ["v": 5]).map(describeDecodingError) == "param 'v' must be a string")
        #expect(decodingError(Box<Bool>.self, from: ["v": 1]).map(describeDecodingError) == "param 'v' must be a boolean")
        #expect(decodingError(Box<Bool>.self, from: ["v": "true"]).map(describeDecodingError) == "param 'v' must be a boolean")
        #expect(decodingError(Box<Double>.self, from: ["v": "1.5"]).map(describeDecodingError) == "param 'v' must be a number")
        #expect(decodingError(Box<Float>.self, from: ["v": false]).map(describeDecodingError) == "param 'v' must be a number")
        #expect(try JSONValueDecoder().decode(Box<Double>.self, from: ["v": 1]).v == 1)
        #expect(try JSONValueDecoder().decode(Box<Float>.self, from: JSONParser.parse(#"{"v":0.1}"#)).v == Float(0.1))
        #expect(try JSONValueDecoder().decode(Box<Double>.self, from: JSONParser.parse(#"{"v":1E+2}"#)).v == 100)
        #expect(decodingError(Box<Double>.self, from: try JSONParser.parse(#"{"v":1e400}"#)).map(describeDecodingError)
            == "param 'v' must be a number within the range of Double (found 1e400)")
        #expect(decodingError(Box<Float>.self, from: try JSONParser.parse(#"{"v":1e39}"#)).map(describeDecodingError)
            == "param 'v' must be a number within the range of Float (found 1e39)")
    }

    @Test("optionals: missing and null both decode as nil")
    func optionals() throws {
        var object = validParams()
        #expect(try JSONValueDecoder().decode(Envelope.self, from: .object(object)).limit == nil)
        object["limit"] = nil
        object["meta"] = .null
        let decoded = try JSONValueDecoder().decode(Envelope.self, from: .object(object))
        #expect(decoded.limit == nil)
        #expect(decoded.meta == nil)
        object["limit"] = 7
        #expect(try JSONValueDecoder().decode(Envelope.self, from: .object(object)).limit == 7)

        struct NilProbe: Decodable {
            var missingIsNil: Bool
            var nullIsNil: Bool
            var valueIsNil: Bool
            enum Keys: CodingKey { case missing, null, value }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: Keys.self)
                missingIsNil = try container.decodeNil(forKey: .missing)
                nullIsNil = try container.decodeNil(forKey: .null)
                valueIsNil = try container.decodeNil(forKey: .value)
            }
        }
        let probe = try JSONValueDecoder().decode(NilProbe.self, from: ["null": nil, "value": 0])
        #expect(probe.missingIsNil)
        #expect(probe.nullIsNil)
        #expect(!probe.valueIsNil)
        #expect(try JSONValueDecoder().decode([Int?].self, from: [1, nil, 3]) == [1, nil, 3])
    }

    static let invalidParams: [(JSONValue, String, String)] = [
        (params { $0["strategy"] = ["kind": "canary", "percent": 10.5] }, "strategy.percent", "param 'strategy.percent' must be an integer"),
        (params { $0["strategy"] = ["percent": 10] }, "strategy.kind", "missing required param 'strategy.kind'"),
        (params { $0["key"] = nil }, "key", "missing required param 'key'"),
        (params { $0["key"] = .null }, "key", "param 'key' must be a string, not null"),
        (params { $0["messages"] = [["id": 1, "body": "a", "attributes": [:]], ["id": 2, "body": 5, "attributes": [:]]] },
         "messages[1].body", "param 'messages[1].body' must be a string"),
        (params { $0["messages"] = [["id": 1, "body": "a", "attributes": [:], "priority": 300]] },
         "messages[0].priority", "param 'messages[0].priority' must be an integer between -128 and 127 (found 300)"),
        (params { $0["messages"] = [["id": 1, "body": "a", "attributes": ["x": 1]]] },
         "messages[0].attributes.x", "param 'messages[0].attributes.x' must be a string"),
        (params { $0["messages"] = [["id": -1, "body": "a", "attributes": [:]]] },
         "messages[0].id", "param 'messages[0].id' must be an integer between 0 and 18446744073709551615 (found -1)"),
        (params { $0["messages"] = ["not an object"] }, "messages[0]", "param 'messages[0]' must be an object"),
        (params { $0["matrix"] = "x" }, "matrix", "param 'matrix' must be an array"),
        (params { $0["matrix"] = [[1], [1.5]] }, "matrix[1][0]", "param 'matrix[1][0]' must be an integer"),
        (params { $0["ratio"] = "x" }, "ratio", "param 'ratio' must be a number"),
        (params { $0["enabled"] = 1 }, "enabled", "param 'enabled' must be a boolean"),
        (params { $0["meta"] = 5 }, "meta", "param 'meta' must be an object"),
        (params { $0["number"] = "3" }, "number", "param 'number' must be a number"),
        (params { $0["number"] = nil }, "number", "missing required param 'number'"),
        (params { $0["extra"] = nil }, "extra", "missing required param 'extra'"),
        ([1, 2], "", "params must be an object"),
        ("text", "", "params must be an object"),
        (nil, "", "params must be an object, not null"),
    ]

    @Test("decoding errors carry the full coding path and read well", arguments: invalidParams)
    func invalid(_ value: JSONValue, _ expectedPath: String, _ message: String) {
        let error = decodingError(Envelope.self, from: value)
        #expect(path(of: error) == expectedPath)
        #expect(error.map(describeDecodingError) == message)
        // The container path reports the same error.
        let slowError = #expect(throws: DecodingError.self) { try slowDecoder.decode(Envelope.self, from: value) }
        #expect(slowError.map(describeDecodingError) == message)
    }

    @Test("array positions are integer keys in the coding path")
    func indexKeys() throws {
        let error = decodingError(Envelope.self, from: params { $0["matrix"] = [[1], [2, "x"]] })
        guard case .typeMismatch(_, let context)? = error else {
            Issue.record("expected typeMismatch, got \(String(describing: error))")
            return
        }
        #expect(context.codingPath.map(\.stringValue) == ["matrix", "Index 1", "Index 1"])
        #expect(context.codingPath.map(\.intValue) == [nil, 1, 1])
    }

    @Test("unkeyed container running out of elements")
    func unkeyedAtEnd() {
        let error = decodingError(Holder.self, from: ["pair": [1, 2]])
        #expect(path(of: error) == "pair[2]")
        #expect(error.map(describeDecodingError) == "missing required param 'pair[2]'")
    }
}

@Suite("describeDecodingError")
struct DescribeDecodingErrorTests {
    private struct IntKey: CodingKey {
        var stringValue: String
        var intValue: Int?
        init(stringValue: String) {
            self.stringValue = stringValue
            intValue = nil
        }
        init(intValue: Int) {
            stringValue = String(intValue)
            self.intValue = intValue
        }
        init(_ string: String, _ int: Int?) {
            stringValue = string
            intValue = int
        }
    }

    private func context(_ path: [IntKey], _ description: String = "details") -> DecodingError.Context {
        DecodingError.Context(codingPath: path, debugDescription: description)
    }

    @Test("custom validation messages starting with 'must' are used verbatim")
    func mustMessages() {
        let error = DecodingError.dataCorrupted(context([IntKey("limit", nil)], "must be a number between 1 and 1000"))
        #expect(describeDecodingError(error) == "param 'limit' must be a number between 1 and 1000")
        let topLevel = DecodingError.dataCorrupted(context([], "must contain at least one id"))
        #expect(describeDecodingError(topLevel) == "params must contain at least one id")
    }

    @Test("other data errors quote the debug description")
    func otherDataErrors() throws {
        let error = decodingError(Box<Mode>.self, from: ["v": "turbo"])
        let message = try #require(error.map(describeDecodingError))
        #expect(message.hasPrefix("invalid param 'v': "))
        #expect(message.contains("turbo"))
        #expect(describeDecodingError(.dataCorrupted(context([], "broken"))) == "invalid params: broken")
    }

    @Test("unknown expected types fall back to the debug description")
    func unknownTypes() {
        let error = DecodingError.typeMismatch(Mode.self, context([IntKey("mode", nil)], "Expected a mode"))
        #expect(describeDecodingError(error) == "invalid param 'mode': Expected a mode")
        let nullError = DecodingError.valueNotFound(Mode.self, context([IntKey("mode", nil)], "null"))
        #expect(describeDecodingError(nullError) == "param 'mode' must not be null")
    }

    @Test("path formatting: keys joined with '.', positions as [i]")
    func pathFormatting() {
        let foundationStyle = [IntKey("items", nil), IntKey("Index 3", 3), IntKey("name", nil)]
        #expect(formatCodingPath(foundationStyle) == "items[3].name")
        let plainIndex = [IntKey("rows", nil), IntKey(intValue: 0), IntKey(intValue: 2)]
        #expect(formatCodingPath(plainIndex) == "rows[0][2]")
        // An Int-backed CodingKey enum keeps its name.
        let named = [IntKey("strategy", 1), IntKey("percent", 2)]
        #expect(formatCodingPath(named) == "strategy.percent")
        let error = DecodingError.keyNotFound(IntKey("body", nil), context(Array(foundationStyle.dropLast())))
        #expect(describeDecodingError(error) == "missing required param 'items[3].body'")
        let mismatch = DecodingError.typeMismatch([String: Int].self, context([]))
        #expect(describeDecodingError(mismatch) == "params must be an object")
        let arrayMismatch = DecodingError.typeMismatch([Any].self, context([IntKey("ids", nil)]))
        #expect(describeDecodingError(arrayMismatch) == "param 'ids' must be an array")
    }
}
