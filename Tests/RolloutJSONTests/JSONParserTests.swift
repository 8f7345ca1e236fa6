import Testing
@testable import RolloutJSON

/// One parser input, named after the JSONTestSuite case it mirrors.
struct ParserCase: Sendable, CustomTestStringConvertible {
    let name: String
    let bytes: [UInt8]

    init(_ name: String, _ text: String) {
        self.name = name
        bytes = Array(text.utf8)
    }

    init(_ name: String, bytes: [UInt8]) {
        self.name = name
        self.bytes = bytes
    }

    var testDescription: String { name }
}

/// `["` + bytes + `"]`: a one-string array around raw bytes.
private func stringArray(_ bytes: [UInt8]) -> [UInt8] {
    Array("[\"".utf8) + bytes + Array("\"]".utf8)
}

@Suite("JSONParser")
struct JSONParserTests {
    static let accepted: [ParserCase] = [
        ParserCase("y_array_empty", "[]"),
        ParserCase("y_array_arraysWithSpaces", "[[]   ]"),
        ParserCase("y_array_heterogeneous", #"[null, 1, "1", {}]"#),
        ParserCase("y_array_with_several_null", "[1,null,null,null,2]"),
        ParserCase("y_array_with_leading_and_trailing_space", " [2] "),
        ParserCase("y_object_empty", "{}"),
        ParserCase("y_object_basic", #"{"asd":"sdf"}"#),
        ParserCase("y_object_duplicated_key", #"{"a":"b","a":"c"}"#),
        ParserCase("y_object_empty_key", #"{"":0}"#),
        ParserCase("y_object_extreme_numbers", #"{ "min": -1.0e+28, "max": 1.0e+28 }"#),
        ParserCase("y_object_with_newlines", "{\n\"a\": \"b\"\n}"),
        ParserCase("y_object_escaped_null_in_key", #"{"foo\u0000bar": 42}"#),
        ParserCase("y_number", "[123e65]"),
        ParserCase("y_number_0e+1", "[0e+1]"),
        ParserCase("y_number_0e1", "[0e1]"),
        ParserCase("y_number_negative_zero", "[-0]"),
        ParserCase("y_number_minus_zero", "-0"),
        ParserCase("y_number_real_capital_e_pos_exp", "[1E+2]"),
        ParserCase("y_number_real_neg_exp", "[1e-2]"),
        ParserCase("y_number_real_fraction_exponent", "[123.456e78]"),
        ParserCase("y_number_simple_real", "[-0.000000000000000000000000000000000000000000000001]"),
        ParserCase("y_number_very_big_negative_int", "[-237462374673276894279832749832423479823246327846]"),
        ParserCase("i_number_huge_exp", "[0.4e00669999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999969999999006]"),
        ParserCase("y_string_1_2_3_bytes_UTF-8_sequences", #"["\u0060\u012a\u12AB"]"#),
        ParserCase("y_string_accepted_surrogate_pair", #"["\uD801\udc37"]"#),
        ParserCase("y_string_allowed_escapes", #"["\"\\\/\b\f\n\r\t"]"#),
        ParserCase("y_string_escaped_noncharacter", #"["\uFFFF"]"#),
        ParserCase("y_string_in_array_with_leading_space", #"[ "asd"]"#),
        ParserCase("y_string_nonCharacterInUTF-8_U+FFFF", bytes: stringArray([0xEF, 0xBF, 0xBF])),
        ParserCase("y_string_last_surrogates_1_and_2", #"["\uDBFF\uDFFF"]"#),
        ParserCase("y_string_null_escape", #"["\u0000"]"#),
        ParserCase("y_string_unicode_U+10FFFE_nonchar", bytes: stringArray([0xF4, 0x8F, 0xBF, 0xBE])),
        ParserCase("y_string_utf8", "[\"€𝄞\"]"),
        ParserCase("y_string_u+2028_line_sep", "[\"\u{2028}\"]"),
        ParserCase("y_string_with_del_character", "[\"a\u{7F}a\"]"),
        ParserCase("y_string_two_byte_boundaries", "[\"\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\"]"),
        ParserCase("y_structure_lonely_false", "false"),
        ParserCase("y_structure_lonely_null", "null"),
        ParserCase("y_structure_lonely_string", #""asd""#),
        ParserCase("y_structure_lonely_true", "true"),
        ParserCase("y_structure_whitespace_array", " \t\r\n[]\n\r\t "),
        ParserCase("y_structure_trailing_newline", "[\"a\"]\n"),
    ]

    static let rejected: [ParserCase] = [
        ParserCase("n_array_1_true_without_comma", "[1 true]"),
        ParserCase("n_array_extra_comma", #"["",]"#),
        ParserCase("n_array_double_comma", "[1,,2]"),
        ParserCase("n_array_incomplete", #"["x""#),
        ParserCase("n_array_just_comma", "[,]"),
        ParserCase("n_array_unclosed", "["),
        ParserCase("n_array_colon_instead_of_comma", #"["": 1]"#),
        ParserCase("n_number_leading_zero", "[012]"),
        ParserCase("n_number_plus_one", "[+1]"),
        ParserCase("n_number_minus_alone", "[-]"),
        ParserCase("n_number_starting_with_dot", "[.123]"),
        ParserCase("n_number_no_digit_after_dot", "[1.]"),
        ParserCase("n_number_exp_without_digits", "[1e]"),
        ParserCase("n_number_exp_sign_without_digits", "[1e+]"),
        ParserCase("n_number_infinity", "[Infinity]"),
        ParserCase("n_number_minus_infinity", "[-Infinity]"),
        ParserCase("n_number_NaN", "[NaN]"),
        ParserCase("n_number_hex", "[0x1]"),
        ParserCase("n_number_trailing_garbage", "[1.5x]"),
        ParserCase("n_number_minus_space", "[- 1]"),
        ParserCase("n_object_trailing_comma", #"{"id":0,}"#),
        ParserCase("n_object_missing_colon", #"{"a" b}"#),
        ParserCase("n_object_missing_value", #"{"a":}"#),
        ParserCase("n_object_non_string_key", "{1:1}"),
        ParserCase("n_object_single_quote", "{'a':0}"),
        ParserCase("n_object_unquoted_key", "{a: 1}"),
        ParserCase("n_object_unclosed", #"{"a":1"#),
        ParserCase("n_object_double_colon", #"{"x"::"b"}"#),
        ParserCase("n_string_single_quote", "['single quote']"),
        ParserCase("n_string_escape_x", #"["\x00"]"#),
        ParserCase("n_string_invalid_backslash_esc", #"["\a"]"#),
        ParserCase("n_string_escaped_emoji", "[\"\\🌀\"]"),
        ParserCase("n_string_incomplete_escape", #"["\"]"#),
        ParserCase("n_string_incomplete_escaped_character", #"["\u00A"]"#),
        ParserCase("n_string_invalid_unicode_escape", #"["\uqqqq"]"#),
        ParserCase("n_string_unescaped_newline", "[\"new\nline\"]"),
        ParserCase("n_string_unescaped_tab", "[\"\t\"]"),
        ParserCase("n_string_unescaped_ctrl_char", bytes: stringArray([0x61, 0x01, 0x61])),
        ParserCase("n_string_unterminated", #"["abc"#),
        ParserCase("n_string_1_surrogate_then_escape", #"["\uD800\n"]"#),
        ParserCase("n_string_incomplete_surrogate_pair", #"["\uD834\uDd"]"#),
        ParserCase("n_string_lone_high_surrogate", #"["\uD800"]"#),
        ParserCase("n_string_lone_low_surrogate", #"["\uDC00"]"#),
        ParserCase("n_string_high_then_high", #"["\uD800\uD800"]"#),
        ParserCase("n_string_invalid_utf8_FF", bytes: stringArray([0xFF])),
        ParserCase("n_string_lone_continuation_byte", bytes: stringArray([0x80])),
        ParserCase("n_string_overlong_C0", bytes: stringArray([0xC0, 0xAF])),
        ParserCase("n_string_overlong_C1", bytes: stringArray([0xC1, 0xBF])),
        ParserCase("n_string_overlong_3_byte", bytes: stringArray([0xE0, 0x80, 0xAF])),
        ParserCase("n_string_overlong_4_byte", bytes: stringArray([0xF0, 0x80, 0x80, 0xAF])),
        ParserCase("n_string_UTF-16_surrogate_bytes_high", bytes: stringArray([0xED, 0xA0, 0x80])),
        ParserCase("n_string_UTF-16_surrogate_bytes_low", bytes: stringArray([0xED, 0xBF, 0xBF])),
        ParserCase("n_string_beyond_U+10FFFF", bytes: stringArray([0xF4, 0x90, 0x80, 0x80])),
        ParserCase("n_string_F5_lead_byte", bytes: stringArray([0xF5, 0x80, 0x80, 0x80])),
        ParserCase("n_string_truncated_3_byte", bytes: stringArray([0xE6, 0x97])),
        ParserCase("n_string_truncated_at_end_of_input", bytes: [0x22, 0xE6, 0x97]),
        ParserCase("n_structure_no_data", ""),
        ParserCase("n_structure_whitespace_only", " \n\t"),
        ParserCase("n_structure_UTF8_BOM_no_data", bytes: [0xEF, 0xBB, 0xBF]),
        ParserCase("n_structure_UTF8_BOM_empty_object", bytes: [0xEF, 0xBB, 0xBF, 0x7B, 0x7D]),
        ParserCase("n_structure_array_trailing_garbage", "[]x"),
        ParserCase("n_structure_double_array", "[][]"),
        ParserCase("n_structure_two_values", "1 2"),
        ParserCase("n_structure_close_unopened_array", "{}}"),
        ParserCase("n_structure_object_with_trailing_garbage", #"{"a": true} "x""#),
        ParserCase("n_structure_trailing_comment", "[] // comment"),
        ParserCase("n_structure_leading_comment", "/* c */ []"),
        ParserCase("n_structure_null_byte_outside_string", bytes: [0x5B, 0x00, 0x5D]),
        ParserCase("n_structure_nbsp_whitespace", "[\u{A0}1]"),
        ParserCase("n_structure_formfeed_whitespace", "[\u{0C}]"),
        ParserCase("n_structure_unclosed_array_in_object", #"{"a":[1"#),
        ParserCase("n_incomplete_true", "[tru]"),
        ParserCase("n_incomplete_null", "nul"),
        ParserCase("n_capitalized_True", "[True]"),
        ParserCase("n_literal_with_trailing_letter", "nulll"),
    ]

    @Test("accepts valid JSON", arguments: accepted)
    func accepts(_ input: ParserCase) throws {
        let value = try JSONParser.parse(input.bytes)
        // Serializing and re-parsing gives the same value.
        #expect(try JSONParser.parse(value.serialized()) == value)
    }

    @Test("rejects invalid JSON", arguments: rejected)
    func rejects(_ input: ParserCase) {
        #expect(throws: JSONParseError.self) {
            try JSONParser.parse(input.bytes)
        }
    }

    @Test("all three entry points agree")
    func entryPoints() throws {
        let text = #"{"a":[1,"é",null]}"#
        let fromString = try JSONParser.parse(text)
        let fromBytes = try JSONParser.parse(Array(text.utf8))
        let fromRaw = try Array(text.utf8).withUnsafeBytes { raw in try JSONParser.parse(raw) }
        #expect(fromString == fromBytes)
        #expect(fromString == fromRaw)
        #expect(fromString == ["a": [1, "é", nil]])
    }

    @Test("empty raw buffer is an error at offset 0")
    func emptyRawBuffer() {
        #expect(throws: JSONParseError(offset: 0, reason: "unexpected end of input, expected a value")) {
            try JSONParser.parse(UnsafeRawBufferPointer(start: nil, count: 0))
        }
    }

    @Test("errors report the byte offset and a reason")
    func errorOffsets() throws {
        let unterminated = #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a": "abc"#) }
        #expect(unterminated?.offset == 6)
        #expect(unterminated?.reason == "unterminated string")
        #expect(unterminated?.description == "invalid JSON at byte 6: unterminated string")

        let trailingComma = #expect(throws: JSONParseError.self) { try JSONParser.parse("[1,]") }
        #expect(trailingComma?.offset == 3)

        let garbage = #expect(throws: JSONParseError.self) { try JSONParser.parse("[] x") }
        #expect(garbage?.offset == 3)
        #expect(garbage?.reason == "unexpected 'x' after the JSON value")

        let leadingZero = #expect(throws: JSONParseError.self) { try JSONParser.parse("[01]") }
        #expect(leadingZero?.offset == 2)
        #expect(leadingZero?.reason == "leading zeros are not allowed in numbers")

        let control = #expect(throws: JSONParseError.self) { try JSONParser.parse("\"a\nb\"") }
        #expect(control?.offset == 2)
        #expect(control?.reason == "unescaped control character U+000A in string")

        let badUTF8 = #expect(throws: JSONParseError.self) { try JSONParser.parse(stringArray([0x61, 0xE0, 0x80, 0x80])) }
        #expect(badUTF8?.offset == 4)

        // Offsets are UTF-8 byte offsets, also for String input.
        let afterMultibyte = #expect(throws: JSONParseError.self) { try JSONParser.parse(#"["é" x]"#) }
        #expect(afterMultibyte?.offset == 6)
    }

    // MARK: Depth

    @Test("nesting up to maxDepth is accepted, one more is rejected")
    func depthLimit() throws {
        let ok = String(repeating: "[", count: 512) + String(repeating: "]", count: 512)
        _ = try JSONParser.parse(ok)

        let tooDeep = String(repeating: "[", count: 513) + String(repeating: "]", count: 513)
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(tooDeep) }
        #expect(error?.offset == 512)
        #expect(error?.reason.contains("nesting") == true)
    }

    @Test("custom maxDepth counts arrays and objects")
    func customDepth() throws {
        _ = try JSONParser.parse(#"{"a":[1]}"#, maxDepth: 2)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a":[[]]}"#, maxDepth: 2) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse(#"{"a":{"b":{}}}"#, maxDepth: 2) }
        #expect(throws: JSONParseError.self) { try JSONParser.parse("[]", maxDepth: 0) }
        #expect(try JSONParser.parse("7", maxDepth: 0) == 7)
    }

    @Test("100 000 nested '[' is an error, not a crash")
    func hugeNesting() {
        let bytes = [UInt8](repeating: UInt8(ascii: "["), count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes) }
        // Even with the limit lifted the parser does not recurse: it runs out of input instead.
        let error = #expect(throws: JSONParseError.self) { try JSONParser.parse(bytes, maxDepth: .max) }
        #expect(error?.offset == 100_000)

        let objects = [UInt8](String(repeating: #"{"a":"#, count: 100_000).utf8)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(objects) }
    }

    // MARK: Numbers

    @Test("numbers are stored verbatim")
    func numbersVerbatim() throws {
        let texts = ["-0", "1E+2", "1.50", "12345678901234567890123", "0.1e-5", "-1.0E-0", "0", "1e400", "-0.0"]
        let value = try JSONParser.parse("[" + texts.joined(separator: " , ") + "]")
        let numbers = try #require(value.arrayValue)
        #expect(numbers.count == texts.count)
        for (element, text) in zip(numbers, texts) {
            guard case .number(let number) = element else {
                Issue.record("expected a number for \(text), got \(element)")
                continue
            }
            #expect(number.text == text)
        }
        #expect(value.jsonString == "[" + texts.joined(separator: ",") + "]")
    }

    @Test("a large id echoes back byte-identical")
    func idEcho() throws {
        let text = #"{"jsonrpc":"2.0","id":12345678901234567890123,"ratio":1.50,"x":-0}"#
        #expect(try JSONParser.parse(text).jsonString == text)
    }

    // MARK: Strings

    @Test("all escapes decode, including surrogate pairs")
    func escapes() throws {
        let value = try JSONParser.parse(#"["\"\\\/\b\f\n\r\t\u0041\u00e9\u4e2D\uD83D\uDE00\u0000x"]"#)
        #expect(value == ["\"\\/\u{8}\u{C}\n\r\tAé中😀\u{0}x"])
    }

    @Test("escapes in keys, and text around escapes, are kept")
    func escapedKeys() throws {
        let value = try JSONParser.parse(#"{"a\nb": "pre\tmid\u00e9post", "plain": "ünïcødé"}"#)
        #expect(value["a\nb"] == "pre\tmidépost")
        #expect(value["plain"] == "ünïcødé")
    }

    @Test("valid multi-byte UTF-8 is kept")
    func utf8Boundaries() throws {
        let text = "\u{7F}\u{80}\u{7FF}\u{800}\u{D7FF}\u{E000}\u{FFFD}\u{FFFF}\u{10000}\u{10FFFF}"
        #expect(try JSONParser.parse("\"\(text)\"") == .string(text))
    }

    @Test("long strings with scattered escapes")
    func longStrings() throws {
        var expected = ""
        var json = "\""
        for i in 0..<2_000 {
            expected += "chunk \(i) é "
            json += "chunk \(i) é "
            if i % 7 == 0 {
                expected += "\n"
                json += "\\n"
            }
        }
        json += "\""
        #expect(try JSONParser.parse(json) == .string(expected))
    }

    // MARK: Objects

    @Test("duplicate keys: last value wins, at the first position")
    func duplicateKeys() throws {
        let value = try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#)
        let object = try #require(value.objectValue)
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
        #expect(value.jsonString == #"{"a":3,"b":2}"#)
    }

    @Test("large objects keep order and lookups")
    func largeObject() throws {
        let keys = (0..<1_000).map { "key\($0)" }
        let text = "{" + keys.enumerated().map { #""\#($1)":\#($0)"# }.joined(separator: ",") + "}"
        let object = try #require(try JSONParser.parse(text).objectValue)
        #expect(object.count == 1_000)
        #expect(object.keys == keys)
        #expect(object["key999"] == 999)
        #expect(object["key0"] == 0)
        #expect(object["missing"] == nil)
    }
}

@Suite("JSONNumber and JSONValue")
struct JSONNumberTests {
    @Test("grammar validation", arguments: [
        ("0", true), ("-0", true), ("12", true), ("1.5", true), ("1e5", true), ("1E-05", true), ("-1.0e+3", true),
        ("", false), ("-", false), ("01", false), ("+1", false), ("1.", false), (".5", false), ("1e", false),
        ("1e+", false), (" 1", false), ("1 ", false), ("NaN", false), ("inf", false), ("0x10", false), ("1.5.5", false),
    ])
    func grammar(_ text: String, _ valid: Bool) {
        #expect((JSONNumber(text: text) != nil) == valid)
    }

    @Test("int64Value is exact", arguments: [
        ("5", Int64(5)), ("5.0", 5), ("5e0", 5), ("50e-1", 5), ("0.5e1", 5), ("-0", 0), ("-0.0", 0), ("0e99999999999999999", 0),
        ("9223372036854775807", .max), ("-9223372036854775808", .min), ("1e18", 1_000_000_000_000_000_000),
        ("-12.3400e2", -1234),
    ])
    func int64Exact(_ text: String, _ expected: Int64) throws {
        #expect(try #require(JSONNumber(text: text)).int64Value == expected)
    }

    @Test("int64Value is nil for fractions and out-of-range values", arguments: [
        "1.5", "0.1", "5e-1", "9223372036854775808", "-9223372036854775809", "1e19", "12345678901234567890123",
        "1e99999999999999999999", "1e-99999999999999999999",
    ])
    func int64Nil(_ text: String) throws {
        #expect(try #require(JSONNumber(text: text)).int64Value == nil)
    }

    @Test("other integer widths")
    func otherWidths() throws {
        #expect(JSONNumber(text: "255")?.exactInteger(UInt8.self) == 255)
        #expect(JSONNumber(text: "256")?.exactInteger(UInt8.self) == nil)
        #expect(JSONNumber(text: "-1")?.exactInteger(UInt64.self) == nil)
        #expect(JSONNumber(text: "-0")?.exactInteger(UInt64.self) == 0)
        #expect(JSONNumber(text: "18446744073709551615")?.exactInteger(UInt64.self) == .max)
        #expect(JSONNumber(text: "-170141183460469231731687303715884105728")?.exactInteger(Int128.self) == .min)
    }

    @Test("initializers produce valid text")
    func initializers() throws {
        #expect(JSONNumber(42).text == "42")
        #expect(JSONNumber(Int64.min).text == "-9223372036854775808")
        #expect(JSONNumber(UInt64.max).text == "18446744073709551615")
        let doubles: [(Double, String)] = [(1.5, "1.5"), (0.25, "0.25"), (1e-7, "1e-07"), (1.0, "1.0"), (-0.0, "-0.0"), (1e20, "1e+20")]
        for (double, text) in doubles {
            let number = JSONNumber(double)
            #expect(number.text == text)
            #expect(JSONNumber(text: number.text) != nil)
            #expect(number.doubleValue == double)
        }
        for double in [Double.leastNonzeroMagnitude, .greatestFiniteMagnitude, -.pi, 123456789.125] {
            #expect(JSONNumber(text: JSONNumber(double).text) != nil)
            #expect(JSONNumber(double).doubleValue == double)
        }
    }

    @Test("isInteger and doubleValue")
    func properties() throws {
        #expect(JSONNumber(text: "12")?.isInteger == true)
        #expect(JSONNumber(text: "-0")?.isInteger == true)
        #expect(JSONNumber(text: "1.0")?.isInteger == false)
        #expect(JSONNumber(text: "1e2")?.isInteger == false)
        #expect(JSONNumber(text: "1E+2")?.doubleValue == 100)
        #expect(JSONNumber(text: "1e400")?.doubleValue == .infinity)
        #expect(JSONNumber(text: "1.50")?.description == "1.50")
    }

    @Test("number equality is textual")
    func textualEquality() {
        #expect(JSONNumber(text: "1") != JSONNumber(text: "1.0"))
        #expect(JSONNumber(text: "1.50") == JSONNumber(text: "1.50"))
    }

    @Test("JSONValue accessors")
    func accessors() {
        let value: JSONValue = ["s": "x", "b": true, "i": 5, "f": 2.5, "n": nil, "a": [1], "o": ["k": "v"]]
        #expect(value["s"]?.stringValue == "x")
        #expect(value["b"]?.boolValue == true)
        #expect(value["i"]?.int64Value == 5)
        #expect(value["i"]?.doubleValue == 5)
        #expect(value["f"]?.doubleValue == 2.5)
        #expect(value["f"]?.int64Value == nil)
        #expect(value["n"]?.isNull == true)
        #expect(value["a"]?.arrayValue == [1])
        #expect(value["o"]?.objectValue == ["k": "v"])
        #expect(value["o"]?["k"] == "v")
        #expect(value["missing"] == nil)
        #expect(value["s"]?["k"] == nil)
        #expect(value["s"]?.boolValue == nil)
        #expect(value["s"]?.int64Value == nil)
        #expect(value["b"]?.stringValue == nil)
        #expect(value.isNull == false)
        #expect(JSONValue.string("5").int64Value == nil)
    }
}

@Suite("JSONObject")
struct JSONObjectTests {
    @Test("subscript set replaces in place, appends, and removes with nil")
    func subscriptSemantics() {
        var object: JSONObject = ["z": 1, "a": 2, "m": 3]
        object["a"] = "two"
        object["new"] = true
        #expect(object.keys == ["z", "a", "m", "new"])
        #expect(object["a"] == "two")
        object["z"] = nil
        #expect(object.keys == ["a", "m", "new"])
        #expect(object.count == 3)
        #expect(object.removeValue(forKey: "m") == 3)
        #expect(object.removeValue(forKey: "m") == nil)
        #expect(object.keys == ["a", "new"])
        #expect(object.updateValue(1, forKey: "a") == "two")
        #expect(!object.isEmpty)
        #expect(JSONObject().isEmpty)
        #expect(Array(object.map(\.key)) == ["a", "new"])
        #expect(object.values == [1, true])
    }

    @Test("equality and hashing ignore member order")
    func orderInsensitiveEquality() {
        let a: JSONObject = ["x": 1, "y": [true, nil]]
        let b: JSONObject = ["y": [true, nil], "x": 1]
        #expect(a == b)
        #expect(a.hashValue == b.hashValue)
        #expect(Set([JSONValue.object(a), .object(b)]).count == 1)
        #expect(a != ["x": 1, "y": [true]])
        #expect(a != ["x": 1])
        #expect(a != ["x": 1, "z": [true, nil]])
    }

    @Test("large objects: index survives growth and removal")
    func indexMaintenance() {
        var object = JSONObject()
        for i in 0..<1_000 {
            object["k\(i)"] = .number(JSONNumber(i))
        }
        #expect(object.count == 1_000)
        #expect(object["k432"] == 432)
        for i in stride(from: 0, to: 1_000, by: 2) {
            object["k\(i)"] = nil
        }
        #expect(object.count == 500)
        #expect(object["k432"] == nil)
        #expect(object["k433"] == 433)
        #expect(object["k999"] == 999)
        #expect(object.keys.first == "k1")
        // Shrink below the index threshold and keep working.
        for i in stride(from: 1, to: 990, by: 2) {
            object.removeValue(forKey: "k\(i)")
        }
        #expect(object.keys == ["k991", "k993", "k995", "k997", "k999"])
        object["k993"] = "replaced"
        object["k0"] = 0
        #expect(object.keys == ["k991", "k993", "k995", "k997", "k999", "k0"])
        #expect(object["k993"] == "replaced")
        var reordered = JSONObject()
        for key in object.keys.reversed() {
            reordered[key] = object[key]
        }
        #expect(reordered == object)
    }

    @Test("dictionary literal with a repeated key keeps the last value at the first position")
    func literalDuplicates() {
        let object: JSONObject = ["a": 1, "b": 2, "a": 3]
        #expect(object.keys == ["a", "b"])
        #expect(object["a"] == 3)
    }
}
