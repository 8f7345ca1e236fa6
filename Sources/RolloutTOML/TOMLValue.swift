/// A TOML value, as ``TOMLTable/init(parsing:)`` reads it from a document.
///
/// Dates and times keep their source text (`1979-05-27T07:32:00Z`), already checked against
/// the calendar; nothing in the daemon computes with them. Equality is structural (tables
/// compare their keys byte for byte, in any order); floats compare as `Double` does, so a
/// `nan` is not equal to itself.
public enum TOMLValue: Sendable, Equatable {
    /// A string, with its escapes decoded.
    case string(String)
    /// An integer: TOML integers are 64-bit, and larger ones are an error.
    case integer(Int64)
    /// A floating-point number, including `inf`, `-inf` and `nan`.
    case float(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// A date-time with an offset, as written: `1979-05-27T07:32:00Z`, `1979-05-27 07:32:00-07:00`.
    case offsetDateTime(String)
    /// A date-time without an offset, as written: `1979-05-27T07:32:00`.
    case localDateTime(String)
    /// A date, as written: `1979-05-27`.
    case localDate(String)
    /// A time of day, as written: `07:32:00.999`.
    case localTime(String)
    /// An array (TOML 1.0 allows mixed element types).
    case array([TOMLValue])
    /// A table: a `[header]`, an inline table or an element of an array of tables.
    case table(TOMLTable)

    /// The string, when this is a string.
    public var string: String? {
        if case .string(let string) = self { return string }
        return nil
    }

    /// The integer, when this is an integer that fits `Int`.
    public var int: Int? {
        if case .integer(let integer) = self { return Int(exactly: integer) }
        return nil
    }

    /// The number, when this is a float (an integer gives `nil`).
    public var double: Double? {
        if case .float(let double) = self { return double }
        return nil
    }

    /// The boolean, when this is a boolean.
    public var bool: Bool? {
        if case .boolean(let bool) = self { return bool }
        return nil
    }

    /// The elements, when this is an array (an array of tables included).
    public var array: [TOMLValue]? {
        if case .array(let array) = self { return array }
        return nil
    }

    /// The table, when this is a table.
    public var table: TOMLTable? {
        if case .table(let table) = self { return table }
        return nil
    }

    /// The type's name for messages: `string`, `integer`, `floating-point number`, `boolean`,
    /// `array`, `table`, `date` (a local date), `time` (a local time) or `date-time` (with or
    /// without an offset).
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "floating-point number"
        case .boolean: "boolean"
        case .offsetDateTime, .localDateTime: "date-time"
        case .localDate: "date"
        case .localTime: "time"
        case .array: "array"
        case .table: "table"
        }
    }
}
