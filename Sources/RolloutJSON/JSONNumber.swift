/// A JSON number that keeps its literal text exactly as it appeared.
///
/// Keeping the text means ids such as `1.50` or `12345678901234567890123` are echoed back
/// byte-identical, and integers beyond the range of `Double` keep full precision.
///
/// Equality and hashing use the text: `1`, `1.0` and `1e0` are different numbers.
public struct JSONNumber: Sendable, Hashable, CustomStringConvertible {
    /// The number's literal text; always valid RFC 8259 number grammar.
    public let text: String

    /// Creates a number from its literal text, or returns `nil` if `text` is not a valid
    /// RFC 8259 number (`-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, no surrounding whitespace).
    public init?(text: String) {
        var copy = text
        let isValid = copy.withUTF8 { utf8 -> Bool in
            guard let end = try? scanJSONNumber(utf8, from: 0) else { return false }
            return end == utf8.count
        }
        guard isValid else { return nil }
        self.text = text
    }

    /// Creates a number from text the caller has already validated against the number grammar.
    init(uncheckedText text: String) {
        self.text = text
    }

    /// Creates an integral number.
    public init(_ value: Int) {
        text = String(value)
    }

    /// Creates an integral number.
    public init(_ value: Int64) {
        text = String(value)
    }

    /// Creates an integral number.
    public init(_ value: UInt64) {
        text = String(value)
    }

    /// Creates a number from a finite `Double`, using Swift's shortest round-tripping
    /// representation (`1.5`, `0.25`, `1e-07`, `1.0`).
    ///
    /// - Precondition: `value` is finite. JSON has no representation for infinity or NaN, so
    ///   passing one is a programming error and traps. (``JSONValueEncoder`` checks first and
    ///   throws `EncodingError.invalidValue` instead.)
    public init(_ value: Double) {
        precondition(value.isFinite, "JSONNumber requires a finite Double; JSON cannot represent \(value)")
        // Swift's description of a finite Double is always valid JSON number grammar
        // ("1.0", "-0.0", "1e-07", "1.7976931348623157e+308").
        text = value.description
        assert(JSONNumber(text: text) != nil, "Double.description produced non-JSON text \(text)")
    }

    /// The literal text of the number.
    public var description: String {
        text
    }

    /// `true` when the text has neither a fraction nor an exponent (`12`, `-0`), regardless of
    /// whether the value fits any Swift integer type.
    public var isInteger: Bool {
        !text.utf8.contains { $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "e") || $0 == UInt8(ascii: "E") }
    }

    /// The value as an `Int64` if it is integral and in range (`5`, `5.0`, `5e0`, `50e-1`);
    /// `nil` for fractional values or values outside the `Int64` range.
    public var int64Value: Int64? {
        exactInteger(Int64.self)
    }

    /// The nearest `Double` to the number. Values beyond the `Double` range become
    /// `±infinity`; values too small to represent become `±0`.
    public var doubleValue: Double {
        // Never nil: every valid JSON number is accepted by Swift's floating-point parser.
        Double(text) ?? .nan
    }

    /// The value as `T` if it is integral and in range; `nil` otherwise.
    func exactInteger<T: FixedWidthInteger>(_ type: T.Type) -> T? {
        if case .exact(let value) = integerConversion(to: type) { return value }
        return nil
    }

    /// Converts the number to an integer type exactly, from its text (no `Double` rounding).
    func integerConversion<T: FixedWidthInteger>(to type: T.Type) -> IntegerConversion<T> {
        var copy = text
        return copy.withUTF8 { utf8 in convertToInteger(utf8, as: type) }
    }
}

/// The outcome of converting a ``JSONNumber`` to a fixed-width integer type.
enum IntegerConversion<T: FixedWidthInteger> {
    /// The number is integral and fits.
    case exact(T)
    /// The number is integral but outside the range of `T`.
    case outOfRange
    /// The number has a non-zero fractional part.
    case notIntegral
}

/// Converts valid JSON number text to `T` exactly.
private func convertToInteger<T: FixedWidthInteger>(
    _ utf8: UnsafeBufferPointer<UInt8>,
    as type: T.Type
) -> IntegerConversion<T> {
    let count = utf8.count
    var i = 0
    let negative = i < count && utf8[i] == UInt8(ascii: "-")
    if negative { i += 1 }
    let integerStart = i
    while i < count, isASCIIDigit(utf8[i]) { i += 1 }
    let integerCount = i - integerStart
    var fractionStart = i
    var fractionCount = 0
    if i < count, utf8[i] == UInt8(ascii: ".") {
        i += 1
        fractionStart = i
        while i < count, isASCIIDigit(utf8[i]) { i += 1 }
        fractionCount = i - fractionStart
    }
    var exponent = 0
    if i < count, utf8[i] == UInt8(ascii: "e") || utf8[i] == UInt8(ascii: "E") {
        i += 1
        var exponentNegative = false
        if i < count, utf8[i] == UInt8(ascii: "-") || utf8[i] == UInt8(ascii: "+") {
            exponentNegative = utf8[i] == UInt8(ascii: "-")
            i += 1
        }
        while i < count, isASCIIDigit(utf8[i]) {
            // Saturate: anything this large already decides the outcome.
            exponent = min(exponent * 10 + Int(utf8[i] &- UInt8(ascii: "0")), 1_000_000_000)
            i += 1
        }
        if exponentNegative { exponent = -exponent }
    }

    // The significand digits are the integer digits followed by the fraction digits.
    let digitCount = integerCount + fractionCount
    func digit(_ k: Int) -> UInt8 {
        let byte = k < integerCount ? utf8[integerStart + k] : utf8[fractionStart + k - integerCount]
        return byte &- UInt8(ascii: "0")
    }
    guard let first = (0..<digitCount).first(where: { digit($0) != 0 }) else { return .exact(0) }
    var last = digitCount - 1
    while digit(last) == 0 { last -= 1 }
    // value = digits[first...last] * 10^scale
    let scale = exponent - fractionCount + (digitCount - 1 - last)
    guard scale >= 0 else { return .notIntegral }
    // More decimal digits than any 128-bit integer can hold.
    guard last - first + 1 + scale <= 40 else { return .outOfRange }

    var value: T = 0
    for k in first...last {
        let (shifted, overflow1) = value.multipliedReportingOverflow(by: 10)
        let d = T(digit(k))
        let (next, overflow2) = negative ? shifted.subtractingReportingOverflow(d) : shifted.addingReportingOverflow(d)
        if overflow1 || overflow2 { return .outOfRange }
        value = next
    }
    for _ in 0..<scale {
        let (shifted, overflow) = value.multipliedReportingOverflow(by: 10)
        if overflow { return .outOfRange }
        value = shifted
    }
    return .exact(value)
}

/// `true` for the ASCII digits `0`–`9`.
@inline(__always)
func isASCIIDigit(_ byte: UInt8) -> Bool {
    byte &- UInt8(ascii: "0") < 10
}

/// Scans one number in RFC 8259 grammar starting at `start` and returns the index just past it.
///
/// The scan stops at the first byte that cannot continue the number; the caller decides whether
/// that byte is acceptable. Throws if the text at `start` is not a complete number.
func scanJSONNumber(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int) throws(JSONParseError) -> Int {
    let count = bytes.count
    var i = start
    if i < count, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < count, isASCIIDigit(bytes[i]) else {
        throw JSONParseError(offset: i, reason: "expected a digit in number")
    }
    if bytes[i] == UInt8(ascii: "0") {
        i += 1
        if i < count, isASCIIDigit(bytes[i]) {
            throw JSONParseError(offset: i, reason: "leading zeros are not allowed in numbers")
        }
    } else {
        while i < count, isASCIIDigit(bytes[i]) { i += 1 }
    }
    if i < count, bytes[i] == UInt8(ascii: ".") {
        i += 1
        guard i < count, isASCIIDigit(bytes[i]) else {
            throw JSONParseError(offset: i, reason: "expected a digit after the decimal point")
        }
        while i < count, isASCIIDigit(bytes[i]) { i += 1 }
    }
    if i < count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
        i += 1
        if i < count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
        guard i < count, isASCIIDigit(bytes[i]) else {
            throw JSONParseError(offset: i, reason: "expected a digit in the exponent")
        }
        while i < count, isASCIIDigit(bytes[i]) { i += 1 }
    }
    return i
}
