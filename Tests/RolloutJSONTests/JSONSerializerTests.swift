import Testing
@testable import RolloutJSON

@Suite("JSON serializer")
struct JSONSerializerTests {
    /// Strings that exercise every escaping rule.
    static let trickyStrings: [String] = [
        "",
        "plain ascii",
        "quote \" and backslash \\ and slash /",
        "newline\nreturn\rtab\tbackspace\u{8}formfeed\u{C}",
        "nul\u{0}unit separator\u{1F}escape\u{1B}bell\u{7}",
        String((0..<0x20).map { Character(Unicode.Scalar(UInt8($0))) }),
        "del \u{7F} stays raw",
        "line separator \u{2028} paragraph separator \u{2029}",
        "near misses \u{2027} \u{202A} € \u{2000}",
        "\u{E2}",
        "ünïcødé, 日本語, emoji 😀👩‍👩‍👧, 𝄞",
        "\r\n",
        "\\n is not a newline",
        "ends with backslash \\",
        "\"",
        String(repeating: "long run ", count: 500) + "\n" + String(repeating: "é", count: 500),
    ]

    @Test("round-trips through parse(serialize(x)) and never emits a raw newline", arguments: trickyStrings)
    func roundTrip(_ string: String) throws {
        let value: JSONValue = ["key \(string)": .string(string), "list": [.string(string), 1]]
        let bytes = value.serialized()
        #expect(!bytes.contains(0x0A))
        #expect(!bytes.contains(0x0D))
        #expect(!bytes.contains { $0 < 0x20 })
        #expect(try JSONParser.parse(bytes) == value)
        #expect(try JSONParser.parse(JSONValue.string(string).serialized()) == .string(string))
    }

    @Test("compact output in stored key order")
    func compact() {
        var object: JSONObject = ["z": 1, "a": [true, false, nil], "m": ["nested": "x"]]
        object["b"] = 1.5
        #expect(JSONValue.object(object).jsonString == #"{"z":1,"a":[true,false,null],"m":{"nested":"x"},"b":1.5}"#)
        #expect(JSONValue.array([]).jsonString == "[]")
        #expect(JSONValue.object([:]).jsonString == "{}")
        #expect(JSONValue.null.jsonString == "null")
    }

    @Test("escape forms")
    func escapeForms() {
        let cases: [(String, String)] = [
            ("\"", #""\"""#),
            ("\\", #""\\""#),
            ("/", #""/""#),
            ("\n", #""\n""#),
            ("\r", #""\r""#),
            ("\t", #""\t""#),
            ("\u{8}", #""\b""#),
            ("\u{C}", #""\f""#),
            ("\u{0}", #""\u0000""#),
            ("\u{1}", #""\u0001""#),
            ("\u{1F}", #""\u001f""#),
            ("\u{1B}", #""\u001b""#),
            ("\u{2028}", #""\u2028""#),
            ("\u{2029}", #""\u2029""#),
            ("\u{7F}", "\"\u{7F}\""),
            ("é😀", "\"é😀\""),
            ("a\u{2028}b\nc", #""a\u2028b\nc""#),
        ]
        for (input, expected) in cases {
            #expect(JSONValue.string(input).jsonString == expected, "escaping \(input.unicodeScalars.map { $0.value })")
        }
    }

    @Test("numbers are written as their literal text")
    func numbers() throws {
        for text in ["-0", "1E+2", "1.50", "12345678901234567890123", "1e-07"] {
            let number = try #require(JSONNumber(text: text))
            #expect(JSONValue.number(number).jsonString == text)
        }
        #expect(JSONValue.number(JSONNumber(0.25)).jsonString == "0.25")
        #expect(JSONValue.number(JSONNumber(-7)).jsonString == "-7")
    }

    @Test("write(to:) appends to an existing buffer")
    func appends() {
        var buffer = Array("prefix:".utf8)
        JSONValue.array(["a", 1]).write(to: &buffer)
        buffer.append(0x0A)
        #expect(buffer == Array("prefix:[\"a\",1]\n".utf8))
    }

    @Test("description, jsonString and serialized() agree")
    func agree() {
        let value: JSONValue = ["a": ["b": "c\nd"], "n": 12]
        #expect(value.description == value.jsonString)
        #expect(Array(value.jsonString.utf8) == value.serialized())
        #expect((["x": 1] as JSONObject).description == #"{"x":1}"#)
    }

    @Test("compact documents round-trip byte-identical")
    func byteIdentical() throws {
        let documents = [
            #"{"jsonrpc":"2.0","id":1.50,"method":"queue.ack","params":{"ids":[1,2,3],"note":"é\n\u2028","z":null,"a":false}}"#,
            #"[[],{},[{}],-0,1E+2,"\"\\/"]"#,
            #""\u0000\u001f""#,
        ]
        for document in documents {
            #expect(try JSONParser.parse(document).jsonString == document)
        }
    }

    @Test("deeply nested values serialize")
    func nested() throws {
        var value: JSONValue = "leaf"
        for i in 0..<200 {
            value = i.isMultiple(of: 2) ? [value] : ["k": value]
        }
        #expect(try JSONParser.parse(value.serialized()) == value)
    }
}
