import RolloutTOML
import Testing

/// Parses `text`, recording the error as an issue.
func parse(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> TOMLTable {
    do {
        return try TOMLTable(parsing: text)
    } catch {
        Issue.record("line \(error.line), column \(error.column): \(error.message)", sourceLocation: sourceLocation)
        throw error
    }
}

/// The value at a dotted path of plain key names.
func value(_ table: TOMLTable, _ path: String) -> TOMLValue? {
    var value: TOMLValue? = .table(table)
    for name in path.split(separator: ".", omittingEmptySubsequences: false) {
        value = value?.table?[String(name)]
    }
    return value
}

@Suite("TOMLTable(parsing:): each construct of TOML 1.0")
struct ParserTests {
    @Test("keys: bare, quoted, literal, empty, dotted (with whitespace), in document order")
    func keys() throws {
        let table = try parse(
            """
            bare_key-1 = 1
            "quoted key" = 2
            'literal "key"' = 3
            "" = 4
            site."google.com" = 5
            fruit . color = 6
            1234 = 7
            3.14 = 8
            """)
        #expect(table.keys == ["bare_key-1", "quoted key", "literal \"key\"", "", "site", "fruit", "1234", "3"])
        #expect(table["quoted key"] == .integer(2))
        #expect(table["literal \"key\""] == .integer(3))
        #expect(table[""] == .integer(4))
        #expect(value(table, "site")?.table?["google.com"] == .integer(5))
        #expect(value(table, "fruit.color") == .integer(6))
        #expect(value(table, "3.14") == .integer(8))
        #expect(table.count == 8)
    }

    @Test("keys are compared as UTF-8 bytes: KELVIN SIGN is not K, though Swift's == says it is")
    func byteExactKeys() throws {
        let kelvin = "prod/API_\u{212A}EY"
        #expect(kelvin == "prod/API_KEY")  // canonical equivalence: why Key never uses String ==
        let alone = try parse("\"prod/API_\\u212AEY\" = \"secret\"\n")
        #expect(alone["prod/API_KEY"] == nil)
        #expect(alone[kelvin] == .string("secret"))

        let both = try parse("\"prod/API_KEY\" = 1\n\"prod/API_\u{212A}EY\" = 2\n")
        #expect(both.count == 2)
        #expect(both["prod/API_KEY"] == .integer(1))
        #expect(both[kelvin] == .integer(2))
        #expect(try parse("\"prod/API_KEY\" = 1\n") != parse("\"prod/API_\\u212AEY\" = 1\n"))

        // Precomposed and decomposed é are different keys; an escape and the character itself are one.
        #expect(try parse("\"\\u00e9\" = 1\n\"e\\u0301\" = 2\n").count == 2)
        #expect(throws: TOMLParseError.self) { try TOMLTable(parsing: "\"\\u00e9\" = 1\n\"\u{E9}\" = 2\n") }
    }

    @Test("basic strings and every escape")
    func basicStrings() throws {
        let table = try parse(#"a = "tab\there \"q\" \\ \b\f\n\r \u00E9 \U0001F600 \u0000""# + "\nb = \"\"\n")
        #expect(table["a"] == .string("tab\there \"q\" \\ \u{08}\u{0C}\n\r \u{E9} \u{1F600} \u{0}"))
        #expect(table["b"] == .string(""))
        #expect(try parse("a = \"raw\ttab and é\"\n")["a"] == .string("raw\ttab and é"))
    }

    @Test("multi-line basic strings: first newline trimmed, line-ending backslash, quotes inside and at the end")
    func multilineBasicStrings() throws {
        let table = try parse(
            "a = \"\"\"\nRoses\nViolets\"\"\"\n"
                + "b = \"\"\"The quick \\\n\n   brown \\   \n  fox\"\"\"\n"
                + "c = \"\"\"two \"\" and \\\"\"\" inside\"\"\"\n"
                + "d = \"\"\"ends with quotes\"\"\"\"\"\n"
                + "e = \"\"\"\r\ncrlf\r\nline\"\"\"\r\n")
        #expect(table["a"] == .string("Roses\nViolets"))
        #expect(table["b"] == .string("The quick brown fox"))
        #expect(table["c"] == .string("two \"\" and \"\"\" inside"))
        #expect(table["d"] == .string("ends with quotes\"\""))
        #expect(table["e"] == .string("crlf\nline"))
    }

    @Test("literal and multi-line literal strings are taken as written")
    func literalStrings() throws {
        let table = try parse(
            "a = 'C:\\Users\\nodejs'\n" + "b = '''\nfirst newline trimmed\n  \\n kept '' ok'''\n" + "c = ''''quoted''''\n")
        #expect(table["a"] == .string("C:\\Users\\nodejs"))
        #expect(table["b"] == .string("first newline trimmed\n  \\n kept '' ok"))
        #expect(table["c"] == .string("'quoted'"))
    }

    @Test("integers: signs, underscores, hex/octal/binary, the 64-bit limits")
    func integers() throws {
        let table = try parse(
            """
            a = +99
            b = -17
            c = 1_000_000
            d = -0
            e = 0xDEAD_beef
            f = 0o755
            g = 0b1101
            max = 9223372036854775807
            min = -9223372036854775808
            hexmax = 0x7FFFFFFFFFFFFFFF
            """)
        #expect(table["a"] == .integer(99))
        #expect(table["b"] == .integer(-17))
        #expect(table["c"] == .integer(1_000_000))
        #expect(table["d"] == .integer(0))
        #expect(table["e"] == .integer(0xDEAD_BEEF))
        #expect(table["f"] == .integer(0o755))
        #expect(table["g"] == .integer(13))
        #expect(table["max"] == .integer(.max))
        #expect(table["min"] == .integer(.min))
        #expect(table["hexmax"] == .integer(.max))
    }

    @Test("floats: fractions, exponents, underscores, signed zero, inf and nan")
    func floats() throws {
        let table = try parse(
            """
            a = 3.1415
            b = -2E-2
            c = 5e+22
            d = 1e06
            e = 224_617.445_991
            f = -0.0
            g = +inf
            h = -inf
            i = nan
            j = -nan
            k = 1e400
            """)
        #expect(table["a"] == .float(3.1415))
        #expect(table["b"] == .float(-0.02))
        #expect(table["c"] == .float(5e22))
        #expect(table["d"] == .float(1e6))
        #expect(table["e"] == .float(224_617.445_991))
        #expect(table["f"]?.double?.sign == .minus && table["f"] == .float(0))
        #expect(table["g"] == .float(.infinity))
        #expect(table["h"] == .float(-.infinity))
        #expect(table["i"]?.double?.isNaN == true && table["i"]?.double?.sign == .plus)
        #expect(table["j"]?.double?.isNaN == true && table["j"]?.double?.sign == .minus)
        #expect(table["k"] == .float(.infinity))
    }

    @Test("booleans")
    func booleans() throws {
        let table = try parse("t = true\nf = false\n")
        #expect(table["t"] == .boolean(true))
        #expect(table["f"] == .boolean(false))
    }

    @Test("dates and times keep their text; T, t or a space separates; leap days exist in leap years")
    func datesAndTimes() throws {
        let table = try parse(
            """
            a = 1979-05-27T07:32:00Z
            b = 1979-05-27 00:32:00.999999-07:00
            c = 1979-05-27t07:32:00z
            d = 1979-05-27T07:32:00
            e = 1979-05-27
            f = 07:32:00.5
            g = 2000-02-29
            h = 1990-12-31T23:59:60Z
            i = [1979-05-27 , 1979-05-28 07:32:00]
            """)
        #expect(table["a"] == .offsetDateTime("1979-05-27T07:32:00Z"))
        #expect(table["b"] == .offsetDateTime("1979-05-27 00:32:00.999999-07:00"))
        #expect(table["c"] == .offsetDateTime("1979-05-27t07:32:00z"))
        #expect(table["d"] == .localDateTime("1979-05-27T07:32:00"))
        #expect(table["e"] == .localDate("1979-05-27"))
        #expect(table["f"] == .localTime("07:32:00.5"))
        #expect(table["g"] == .localDate("2000-02-29"))
        #expect(table["h"] == .offsetDateTime("1990-12-31T23:59:60Z"))
        #expect(table["i"] == .array([.localDate("1979-05-27"), .localDateTime("1979-05-28 07:32:00")]))
    }

    @Test("arrays: mixed types, nested, over lines with comments, trailing comma, empty")
    func arrays() throws {
        let table = try parse(
            """
            a = [ 1, "two", 3.0, [ true ], { x = 1 } ]
            b = [ # comment
              1, # one
              2,
              # nothing
            ]
            c = []
            d = [[], [[]]]
            """)
        #expect(table["a"] == .array([.integer(1), .string("two"), .float(3), .array([.boolean(true)]), .table(try parse("x = 1"))]))
        #expect(table["b"] == .array([.integer(1), .integer(2)]))
        #expect(table["c"] == .array([]))
        #expect(table["d"] == .array([.array([]), .array([.array([])])]))
    }

    @Test("inline tables: nested, with dotted keys, empty")
    func inlineTables() throws {
        let table = try parse("a = { b = 1, c.d = 'x', c.e = { f = [] } }\nempty = {}\n")
        #expect(value(table, "a.b") == .integer(1))
        #expect(value(table, "a.c.d") == .string("x"))
        #expect(value(table, "a.c.e.f") == .array([]))
        #expect(table["empty"]?.table?.count == 0)
    }

    @Test("tables: headers, implicit parents defined later, sub-tables of dotted tables")
    func tables() throws {
        let table = try parse(
            """
            top = 0
            [x.y.z]
            a = 1
            [x]
            b = 2
            [fruit]
            apple.color = "red"
            [fruit.apple.texture]
            smooth = true
            [ dog . "tater.man" ]
            type = "pug"
            """)
        #expect(table.keys == ["top", "x", "fruit", "dog"])
        #expect(value(table, "x.y.z.a") == .integer(1))
        #expect(value(table, "x.b") == .integer(2))
        #expect(table["x"]?.table?.keys == ["y", "b"])
        #expect(value(table, "fruit.apple.color") == .string("red"))
        #expect(value(table, "fruit.apple.texture.smooth") == .boolean(true))
        #expect(value(table, "dog")?.table?["tater.man"]?.table?["type"] == .string("pug"))
    }

    @Test("arrays of tables, nested, with sub-tables per element")
    func arraysOfTables() throws {
        let table = try parse(
            """
            [[fruits]]
            name = "apple"
            [fruits.physical]
            color = "red"
            [[fruits.varieties]]
            name = "red delicious"
            [[fruits.varieties]]
            name = "granny smith"
            [[fruits]]
            name = "banana"
            [[fruits.varieties]]
            name = "plantain"
            """)
        let fruits = try #require(table["fruits"]?.array)
        #expect(fruits.count == 2)
        #expect(fruits[0].table?["name"] == .string("apple"))
        #expect(fruits[0].table?["physical"]?.table?["color"] == .string("red"))
        #expect(fruits[0].table?["varieties"]?.array?.count == 2)
        #expect(fruits[1].table?["varieties"]?.array?.first?.table?["name"] == .string("plantain"))
        #expect(fruits[1].table?["physical"] == nil)
    }

    @Test("comments, blank lines, CRLF, a byte-order mark, no newline at the end")
    func layout() throws {
        #expect(try parse("\u{FEFF}# c\r\n\r\na = 1 # c\r\n[t]\r\nb = [\r\n2,\r\n]").count == 2)
        #expect(try parse("").count == 0)
        #expect(try parse("# only a comment").count == 0)
        #expect(try parse("a = 1")["a"] == .integer(1))
        #expect(try parse("\ta\t=\t1\t# tab\n")["a"] == .integer(1))
    }

    @Test("nesting up to 128 levels parses; deeper is an error, never a crash")
    func depthLimit() throws {
        let deepest = "a = " + String(repeating: "[", count: 128) + String(repeating: "]", count: 128)
        #expect(throws: Never.self) { try TOMLTable(parsing: deepest) }
        for hostile in [
            "a = " + String(repeating: "[", count: 129) + String(repeating: "]", count: 129),
            "a = " + String(repeating: "[", count: 100_000),
            "a = " + String(repeating: "{b=", count: 100_000),
            "[" + Array(repeating: "k", count: 200).joined(separator: ".") + "]",
            Array(repeating: "k", count: 200).joined(separator: ".") + " = 1",
        ] {
            #expect {
                try TOMLTable(parsing: hostile)
            } throws: { error in
                (error as? TOMLParseError)?.message == "tables and arrays are nested more than 128 levels deep"
            }
        }
    }

    @Test("a 100 KB document parses (off the cooperative pool: this is CPU work)")
    func largeDocument() async throws {
        let (count, sections, last) = try await offPool { () throws -> (Int, Int, TOMLValue?) in
            var text = "# generated\n"
            var index = 0
            while text.utf8.count < 100_000 {
                text += "[section_\(index)]\nname = \"value \(index) \\u00e9\"\nnumbers = [1, 2.5, 0x1F]\nwhen = 1979-05-27T07:32:00Z\n"
                text += "nested.key = 'literal'\n\n"
                index += 1
            }
            let table = try TOMLTable(parsing: text)
            return (table.count, index, table["section_\(index - 1)"])
        }
        #expect(count == sections)
        #expect(last?.table?["numbers"] == .array([.integer(1), .float(2.5), .integer(31)]))
    }
}
