import RolloutTOML
import Testing

@Suite("TOMLValue: conveniences, type names and inline TOML text")
struct TOMLValueTests {
    @Test("tomlText prints values the way toml++ did (configuration messages quote it)")
    func tomlText() throws {
        let table = try parse(
            """
            roots = ["/data", 3]
            uids = ["root"]
            empty = []
            quote = "it's"
            control = "a\\tb\\u0001\\"\\\\"
            plain = "é and \\"double\\" quotes"
            numbers = [1, -2, 1.5, -0.0, 1e300, inf, -inf, nan, -nan]
            flags = [true, false]
            times = [1979-05-27T07:32:00Z, 1979-05-27 07:32:00, 1979-05-27, 07:32:00.5]
            inline = { a = 1, "b c" = 'x', "it's" = [], nested = {} }
            mixed = [[1, 2], { k = [] }]
            """)
        #expect(table["roots"]?.tomlText == "[ '/data', 3 ]")
        #expect(table["uids"]?.tomlText == "[ 'root' ]")
        #expect(table["empty"]?.tomlText == "[]")
        #expect(table["quote"]?.tomlText == "\"it's\"")
        #expect(table["control"]?.tomlText == #""a\tb\u0001\"\\""#)
        #expect(table["plain"]?.tomlText == "'é and \"double\" quotes'")
        #expect(table["numbers"]?.tomlText == "[ 1, -2, 1.5, -0.0, 1e+300, inf, -inf, nan, nan ]")
        #expect(table["flags"]?.tomlText == "[ true, false ]")
        #expect(table["times"]?.tomlText == "[ 1979-05-27T07:32:00Z, 1979-05-27 07:32:00, 1979-05-27, 07:32:00.5 ]")
        #expect(table["inline"]?.tomlText == "{ a = 1, 'b c' = 'x', \"it's\" = [], nested = {} }")
        #expect(table["mixed"]?.tomlText == "[ [ 1, 2 ], { k = [] } ]")
        #expect(TOMLValue.table(try parse("")).tomlText == "{}")
        #expect(TOMLValue.string("").tomlText == "''")
    }

    @Test("typeName is the word configuration messages use")
    func typeNames() throws {
        let table = try parse(
            "s = 'x'\ni = 1\nf = 1.0\nb = true\nodt = 1979-05-27T07:32:00Z\nldt = 1979-05-27T07:32:00\nd = 1979-05-27\nt = 07:32:00\na = []\ntab = {}\n"
        )
        let names = table.keys.map { table[$0]?.typeName ?? "" }
        #expect(
            names == ["string", "integer", "floating-point number", "boolean", "date-time", "date-time", "date", "time", "array", "table"])
    }

    @Test("conveniences give a value only for their own type")
    func conveniences() {
        #expect(TOMLValue.string("x").string == "x")
        #expect(TOMLValue.integer(3).string == nil)
        #expect(TOMLValue.integer(3).int == 3)
        #expect(TOMLValue.integer(3).double == nil)
        #expect(TOMLValue.float(3).double == 3)
        #expect(TOMLValue.float(3).int == nil)
        #expect(TOMLValue.boolean(true).bool == true)
        #expect(TOMLValue.string("true").bool == nil)
        #expect(TOMLValue.array([.integer(1)]).array == [.integer(1)])
        #expect(TOMLValue.localDate("1979-05-27").string == nil)
        #expect(TOMLValue.integer(1).table == nil)
    }

    @Test("tables are equal when their keys (byte for byte) and values are, in any order")
    func tableEquality() throws {
        #expect(try parse("a = 1\nb = 2") == parse("b = 2\na = 1"))
        #expect(try parse("a = 1") != parse("a = 2"))
        #expect(try parse("a = 1") != parse("a = 1\nb = 2"))
        #expect(try parse("[t]\nx = [1, {y = 2}]") == parse("t.x = [1, {y = 2}]"))
    }
}
