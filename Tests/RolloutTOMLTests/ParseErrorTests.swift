import RolloutTOML
import Testing

/// The error `text` is rejected with.
func parseError(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> TOMLParseError? {
    do {
        _ = try TOMLTable(parsing: text)
        Issue.record("parsed without an error", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("TOMLParseError: every class of error, where it is, and that it never quotes a value")
struct ParseErrorTests {
    @Test("line and column (1-based; columns count Unicode scalars, not bytes nor a byte-order mark)")
    func positions() {
        #expect(parseError("a = 1\nb = \n") == TOMLParseError(line: 2, column: 5, message: "expected a value"))
        #expect(parseError("k = \"é\" x\n") == TOMLParseError(line: 1, column: 9, message: "expected the end of the line after the value"))
        #expect(parseError("\u{FEFF}a b = 1\n") == TOMLParseError(line: 1, column: 3, message: "expected '=' after the key"))
        #expect(parseError("a = 1\r\n\r\n[t]\r\na = 1\r\na = 2\r\n") == TOMLParseError(line: 5, column: 1, message: "duplicate key \"a\""))
        #expect(parseError("x = [\n  1,\n  2 3\n]\n") == TOMLParseError(line: 3, column: 5, message: "expected ',' or ']' after an array element"))
        #expect(parseError("[a]\n[a]\n") == TOMLParseError(line: 2, column: 1, message: "table [a] is defined twice"))
        #expect(parseError("a = tru").map(\.description) == "expected a value")
    }

    @Test(
        "redefinitions",
        arguments: [
            ("a = 1\na = 2", "duplicate key \"a\""),
            ("a.b = 1\na.b = 2", "duplicate key \"a.b\""),
            ("\"a b\".c = 1\n\"a b\".c = 2", "duplicate key \"'a b'.c\""),
            ("[a.b]\n[a]\nb = 1", "duplicate key \"b\": it is already a table"),
            ("[[a.b]]\n[a]\nb = 1", "duplicate key \"b\": it is already an array of tables"),
            ("a = 1\na.b = 2", "cannot add to \"a\": it is a integer, not a table"),
            ("a = [1]\n[a.b]", "cannot add to \"a\": it is an array, not a table"),
            ("a = {b = 1}\na.c = 2", "cannot add to the inline table \"a\""),
            ("a = {b = 1}\n[a]", "cannot add to the inline table \"a\""),
            ("a = {b = {c = 1}, b.d = 2}", "cannot add to the inline table \"b\""),
            ("a = []\n[[a]]", "cannot add to \"a\": it is an array, not a table"),
            ("[a]\n[a]", "table [a] is defined twice"),
            ("[a.b]\n[a]\n[a]", "table [a] is defined twice"),
            ("a.b = 1\n[a]", "table [a] is already defined by dotted keys"),
            ("[fruit]\napple.color = 1\n[fruit.apple]", "table [fruit.apple] is already defined by dotted keys"),
            ("[[a]]\n[a]", "table [a] is already defined as an array of tables"),
            ("[a]\n[[a]]", "[[a]] names a table, not an array of tables"),
            ("[a.b]\n[a]\nb.c = 1", "dotted keys cannot add to table \"b\": it is defined elsewhere"),
            ("[[a.b]]\n[a]\nb.c = 1", "dotted keys cannot add to the array of tables \"b\""),
        ])
    func redefinitions(text: String, message: String) {
        #expect(parseError(text + "\n")?.message == message)
    }

    @Test(
        "syntax",
        arguments: [
            ("= 1", "expected a key"),
            ("a 1", "expected '=' after the key"),
            ("a =", "expected a value"),
            ("a = 1 b = 2", "expected the end of the line after the value"),
            ("[a] b = 1", "expected the end of the line after the table header"),
            ("[a", "expected ']' at the end of the table header"),
            ("[[a]", "expected ']]' at the end of the array-of-tables header"),
            ("\"\"\"a\"\"\" = 1", "a multi-line string cannot be a key"),
            ("a = [1 2]", "expected ',' or ']' after an array element"),
            ("a = [1,", "unterminated array"),
            ("a = {b = 1,}", "an inline table cannot end with a comma"),
            ("a = {b = 1,\nc = 2}", "an inline table must be on one line"),
            ("a = {b = 1\n}", "an inline table must be on one line"),
            ("a = {b = 1 c = 2}", "expected ',' or '}' after a value in an inline table"),
            ("a = {b = 1", "unterminated inline table"),
            ("a = 1\rb = 2", "a carriage return must be followed by a line feed"),
            ("# \u{7F}", "control character in a comment"),
        ])
    func syntax(text: String, message: String) {
        #expect(parseError(text)?.message == message)
    }

    @Test(
        "strings",
        arguments: [
            ("a = \"abc", "unterminated string"),
            ("a = \"a\nb\"", "unterminated string"),
            ("a = 'abc\n", "unterminated string"),
            ("a = \"\"\"abc", "unterminated multi-line string"),
            ("a = '''abc", "unterminated multi-line string"),
            ("a = \"\\x41\"", "invalid escape sequence in a string"),
            ("a = \"\\u41\"", "\\u must be followed by 4 hexadecimal digits"),
            ("a = \"\\U0001F60\"", "\\U must be followed by 8 hexadecimal digits"),
            ("a = \"\\uD800\"", "escape sequence is not a Unicode scalar value (surrogates and values above 10FFFF are not)"),
            ("a = \"\\U00110000\"", "escape sequence is not a Unicode scalar value (surrogates and values above 10FFFF are not)"),
            ("a = \"a\u{01}b\"", "control character in a string"),
            ("a = 'a\u{7F}b'", "control character in a string"),
            ("a = \"\"\"a\u{0}b\"\"\"", "control character in a string"),
            ("a = \"\"\"a\\ b\"\"\"", "a line-ending backslash must be followed by nothing but whitespace on its line"),
        ])
    func strings(text: String, message: String) {
        #expect(parseError(text)?.message == message)
    }

    @Test(
        "numbers, dates and times",
        arguments: [
            ("a = 01", "a number cannot start with a zero (except 0 itself and floats like 0.5)"),
            ("a = 1__0", "an underscore in a number must be between two digits"),
            ("a = 1_", "an underscore in a number must be between two digits"),
            ("a = 0x_1", "expected a digit after the number's prefix"),
            ("a = 9223372036854775808", "integer out of the 64-bit range"),
            ("a = -9223372036854775809", "integer out of the 64-bit range"),
            ("a = 0x8000000000000000", "integer out of the 64-bit range"),
            ("a = 1.", "a decimal point must be followed by a digit"),
            ("a = 1e", "an exponent must have digits"),
            ("a = 2021-13-01", "invalid date: the month must be 01 to 12"),
            ("a = 2021-02-29", "invalid date: that month has no such day"),
            ("a = 1900-02-29", "invalid date: that month has no such day"),
            ("a = 24:00:00", "invalid time: hours must be 00 to 23, minutes 00 to 59, seconds 00 to 60"),
            ("a = 07:32", "invalid time"),
            ("a = 1979-05-27T07:32:00+24:00", "invalid time offset"),
            ("a = 1979-05-27T07:32:00.Z", "invalid time: a decimal point must be followed by a digit"),
        ])
    func numbersAndDates(text: String, message: String) {
        #expect(parseError(text)?.message == message)
    }

    @Test("no message quotes a value, however it is broken (secrets files are parsed too)")
    func valuesStayOutOfMessages() {
        let broken = [
            "k = \"hunter2\" tail", "k = hunter2", "k = \"hunter2\\q\"", "k = 'hunter2\n", "k = \"hunter2\u{1}\"",
            "k = \"\"\"hunter2", "k = 'hunter2", "k = [\"hunter2\" \"x\"]", "k = {a = \"hunter2\" b = 1}", "k = 1979-05-27Thunter2",
            "k = 12hunter2", "k = \"hunter2\"\nk = \"hunter2\"",
        ]
        for text in broken {
            let error = parseError(text)
            #expect(error != nil)
            #expect(error?.message.contains("hunter") == false, "\(text): \(error?.message ?? "")")
        }
    }
}
