/// Why and where a JSON text was rejected.
public struct JSONParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The zero-based byte offset in the input at which the problem was detected.
    public let offset: Int
    /// A short human-readable reason, e.g. `unterminated string`.
    public let reason: String

    /// Creates an error at `offset` with `reason`.
    public init(offset: Int, reason: String) {
        self.offset = offset
        self.reason = reason
    }

    /// The error as text, e.g. `invalid JSON at byte 17: unterminated string`.
    public var description: String {
        "invalid JSON at byte \(offset): \(reason)"
    }
}

/// A strict RFC 8259 JSON parser working directly on UTF-8 bytes.
///
/// - The input must hold exactly one JSON value, optionally surrounded by whitespace
///   (space, tab, CR, LF); anything else is an error.
/// - Strings must be valid UTF-8 (no overlong forms, no encoded surrogates), must not contain raw
///   control characters (< 0x20), and may use every JSON escape; `\uXXXX` surrogate escapes must
///   come in proper high/low pairs.
/// - Numbers are checked against the JSON grammar and kept verbatim as ``JSONNumber`` text.
/// - Objects with a repeated key keep the last value, at the position of the first occurrence.
/// - Nesting deeper than `maxDepth` arrays/objects is an error. The parser does not recurse, so
///   even absurd input cannot overflow the stack while parsing. Comparing, serializing and
///   destroying a value are recursive, though, so keep `maxDepth` modest (the default is safe).
public enum JSONParser {
    /// Parses one JSON value from raw UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - bytes: the complete JSON text.
    ///   - maxDepth: the maximum number of nested arrays/objects (a top-level `[]` has depth 1).
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    public static func parse(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 512) throws(JSONParseError) -> JSONValue {
        try bytes.withMemoryRebound(to: UInt8.self) { (buffer) throws(JSONParseError) -> JSONValue in
            try parse(buffer: buffer, maxDepth: maxDepth)
        }
    }

    /// Parses one JSON value from UTF-8 bytes.
    ///
    /// - Parameters:
    ///   - bytes: the complete JSON text.
    ///   - maxDepth: the maximum number of nested arrays/objects (a top-level `[]` has depth 1).
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 512) throws(JSONParseError) -> JSONValue {
        let result = bytes.withUnsafeBufferPointer { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                try parse(buffer: buffer, maxDepth: maxDepth)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from a string (using its UTF-8 encoding; offsets in errors are
    /// UTF-8 byte offsets).
    ///
    /// - Parameters:
    ///   - text: the complete JSON text.
    ///   - maxDepth: the maximum number of nested arrays/objects (a top-level `[]` has depth 1).
    /// - Throws: ``JSONParseError`` with the byte offset of the first problem.
    public static func parse(_ text: String, maxDepth: Int = 512) throws(JSONParseError) -> JSONValue {
        var text = text
        let result = text.withUTF8 { buffer in
            Result { () throws(JSONParseError) -> JSONValue in
                try parse(buffer: buffer, maxDepth: maxDepth)
            }
        }
        return try result.get()
    }

    /// Parses one JSON value from a typed byte buffer.
    static func parse(buffer: UnsafeBufferPointer<UInt8>, maxDepth: Int) throws(JSONParseError) -> JSONValue {
        var parser = ByteParser(bytes: buffer, maxDepth: maxDepth)
        return try parser.parseDocument()
    }
}

/// The parser state: the input, a cursor, and reusable buffers.
private struct ByteParser {
    let bytes: UnsafeBufferPointer<UInt8>
    let maxDepth: Int
    var position = 0
    /// Reused for strings that contain escapes.
    var scratch: [UInt8] = []
    /// The finished elements / member values of every open container, innermost last. Each
    /// container's array is built from its slice in one exact-size allocation when it closes.
    var values: [JSONValue] = []
    /// The member keys of every open object, parallel to their values in `values`.
    var keys: [String] = []

    init(bytes: UnsafeBufferPointer<UInt8>, maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// An open array or object: where its members start in `values` and `keys`.
    struct Frame {
        var isObject: Bool
        var valueStart: Int
        var keyStart: Int
    }

    func error(_ reason: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(offset: offset ?? position, reason: reason)
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard position == bytes.count else {
            throw error("unexpected \(describeByte(bytes[position])) after the JSON value")
        }
        return value
    }

    mutating func skipWhitespace() {
        while position < bytes.count {
            switch bytes[position] {
            case 0x20, 0x09, 0x0A, 0x0D: position += 1
            default: return
            }
        }
    }

    /// Parses one value, iteratively: open containers live on an explicit stack.
    mutating func parseValue() throws(JSONParseError) -> JSONValue {
        var stack: [Frame] = []
        while true {
            skipWhitespace()
            guard position < bytes.count else { throw error("unexpected end of input, expected a value") }
            var value: JSONValue
            switch bytes[position] {
            case UInt8(ascii: "{"):
                guard stack.count < maxDepth else { throw error("nesting is deeper than the maximum of \(maxDepth)") }
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "}") {
                    position += 1
                    value = .object(JSONObject())
                } else {
                    stack.append(Frame(isObject: true, valueStart: values.count, keyStart: keys.count))
                    keys.append(try parseKey())
                    continue
                }
            case UInt8(ascii: "["):
                guard stack.count < maxDepth else { throw error("nesting is deeper than the maximum of \(maxDepth)") }
                position += 1
                skipWhitespace()
                if position < bytes.count, bytes[position] == UInt8(ascii: "]") {
                    position += 1
                    value = .array([])
                } else {
                    stack.append(Frame(isObject: false, valueStart: values.count, keyStart: keys.count))
                    continue
                }
            case UInt8(ascii: "\""):
                position += 1
                value = .string(try parseStringBody())
            case UInt8(ascii: "t"):
                try expectLiteral("true")
                value = .bool(true)
            case UInt8(ascii: "f"):
                try expectLiteral("false")
                value = .bool(false)
            case UInt8(ascii: "n"):
                try expectLiteral("null")
                value = .null
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                value = .number(try parseNumber())
            default:
                throw error("unexpected \(describeByte(bytes[position])), expected a value")
            }

            // Add the finished value to the enclosing container, closing any containers that end here.
            attach: while let frame = stack.last {
                values.append(value)
                skipWhitespace()
                if frame.isObject {
                    guard position < bytes.count else { throw error("unexpected end of input, expected ',' or '}'") }
                    switch bytes[position] {
                    case UInt8(ascii: ","):
                        position += 1
                        skipWhitespace()
                        keys.append(try parseKey())
                        break attach
                    case UInt8(ascii: "}"):
                        position += 1
                        stack.removeLast()
                        value = .object(closeObject(frame))
                    default:
                        throw error("unexpected \(describeByte(bytes[position])), expected ',' or '}'")
                    }
                } else {
                    guard position < bytes.count else { throw error("unexpected end of input, expected ',' or ']'") }
                    switch bytes[position] {
                    case UInt8(ascii: ","):
                        position += 1
                        break attach
                    case UInt8(ascii: "]"):
                        position += 1
                        stack.removeLast()
                        value = .array(closeArray(frame))
                    default:
                        throw error("unexpected \(describeByte(bytes[position])), expected ',' or ']'")
                    }
                }
            }
            if stack.isEmpty { return value }
        }
    }

    /// Takes the elements of the array described by `frame` off the value stack.
    mutating func closeArray(_ frame: Frame) -> [JSONValue] {
        let elements = Array(values[frame.valueStart...])
        values.removeLast(values.count - frame.valueStart)
        return elements
    }

    /// Takes the members of the object described by `frame` off the key and value stacks.
    /// A repeated key keeps the last value, at the position of its first occurrence.
    mutating func closeObject(_ frame: Frame) -> JSONObject {
        let count = values.count - frame.valueStart
        var members = OrderedStringMap<JSONValue>()
        members.reserveCapacity(count)
        for offset in 0..<count {
            members.updateValue(values[frame.valueStart + offset], forKey: keys[frame.keyStart + offset])
        }
        values.removeLast(count)
        keys.removeLast(count)
        return JSONObject(storage: members)
    }

    /// Parses `"key"` followed by `:` (the cursor is at the opening quote).
    mutating func parseKey() throws(JSONParseError) -> String {
        guard position < bytes.count else { throw error("unexpected end of input, expected a string key") }
        guard bytes[position] == UInt8(ascii: "\"") else {
            throw error("unexpected \(describeByte(bytes[position])), expected a string key")
        }
        position += 1
        let key = try parseStringBody()
        skipWhitespace()
        guard position < bytes.count else { throw error("unexpected end of input, expected ':'") }
        guard bytes[position] == UInt8(ascii: ":") else {
            throw error("unexpected \(describeByte(bytes[position])), expected ':' after object key")
        }
        position += 1
        return key
    }

    mutating func expectLiteral(_ literal: StaticString) throws(JSONParseError) {
        let start = position
        let length = literal.utf8CodeUnitCount
        let literalBytes = UnsafeBufferPointer(start: literal.utf8Start, count: length)
        for k in 0..<length {
            guard start + k < bytes.count, bytes[start + k] == literalBytes[k] else {
                throw error("invalid literal, expected '\(literal)'", at: start)
            }
        }
        position = start + length
    }

    mutating func parseNumber() throws(JSONParseError) -> JSONNumber {
        let start = position
        let end = try scanJSONNumber(bytes, from: start)
        position = end
        return JSONNumber(uncheckedText: String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self))
    }

    /// Parses the rest of a string; the cursor is just past the opening quote.
    mutating func parseStringBody() throws(JSONParseError) -> String {
        let quote = position - 1
        let start = position
        let count = bytes.count
        var i = start

        // Fast path: printable ASCII with no escapes.
        while i < count {
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
            }
            if byte == UInt8(ascii: "\\") || byte < 0x20 || byte >= 0x80 { break }
            i += 1
        }

        // General path: validate UTF-8, decode escapes into `scratch` while copying runs in bulk.
        var sawEscape = false
        var runStart = start
        while true {
            guard i < count else { throw error("unterminated string", at: quote) }
            let byte = bytes[i]
            if byte == UInt8(ascii: "\"") {
                position = i + 1
                if !sawEscape {
                    return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                return String(decoding: scratch, as: UTF8.self)
            } else if byte == UInt8(ascii: "\\") {
                if !sawEscape {
                    sawEscape = true
                    scratch.removeAll(keepingCapacity: true)
                }
                scratch.append(contentsOf: UnsafeBufferPointer(rebasing: bytes[runStart..<i]))
                i = try decodeEscape(at: i, quote: quote)
                runStart = i
            } else if byte < 0x20 {
                throw error("unescaped control character \(hexCodePoint(UInt32(byte))) in string", at: i)
            } else if byte < 0x80 {
                i += 1
            } else {
                i = try validateUTF8Sequence(at: i, quote: quote)
            }
        }
    }

    /// Decodes the escape starting at the backslash at `i` into `scratch`; returns the index after it.
    mutating func decodeEscape(at i: Int, quote: Int) throws(JSONParseError) -> Int {
        guard i + 1 < bytes.count else { throw error("unterminated string", at: quote) }
        let decoded: UInt8
        switch bytes[i + 1] {
        case UInt8(ascii: "\""): decoded = UInt8(ascii: "\"")
        case UInt8(ascii: "\\"): decoded = UInt8(ascii: "\\")
        case UInt8(ascii: "/"): decoded = UInt8(ascii: "/")
        case UInt8(ascii: "b"): decoded = 0x08
        case UInt8(ascii: "f"): decoded = 0x0C
        case UInt8(ascii: "n"): decoded = 0x0A
        case UInt8(ascii: "r"): decoded = 0x0D
        case UInt8(ascii: "t"): decoded = 0x09
        case UInt8(ascii: "u"):
            let unit = try readHex4(at: i + 2)
            var next = i + 6
            var scalar = unit
            if (0xD800...0xDBFF).contains(unit) {
                guard next + 1 < bytes.count, bytes[next] == UInt8(ascii: "\\"), bytes[next + 1] == UInt8(ascii: "u") else {
                    throw error("lone surrogate \\u\(hex4(unit)) in string (expected a low surrogate escape after it)", at: i)
                }
                let low = try readHex4(at: next + 2)
                guard (0xDC00...0xDFFF).contains(low) else {
                    throw error("lone surrogate \\u\(hex4(unit)) in string (followed by \\u\(hex4(low)), not a low surrogate)", at: i)
                }
                scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                next += 6
            } else if (0xDC00...0xDFFF).contains(unit) {
                throw error("lone surrogate \\u\(hex4(unit)) in string (low surrogate without a high surrogate)", at: i)
            }
            appendUTF8(scalar)
            return next
        default:
            throw error("invalid escape sequence \\\(describeEscapeByte(bytes[i + 1])) in string", at: i)
        }
        scratch.append(decoded)
        return i + 2
    }

    /// Reads four hex digits at `start`.
    func readHex4(at start: Int) throws(JSONParseError) -> UInt32 {
        var value: UInt32 = 0
        for k in 0..<4 {
            guard start + k < bytes.count else { throw error("unterminated \\u escape", at: start + k) }
            let byte = bytes[start + k]
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw error("invalid hex digit \(describeByte(byte)) in \\u escape", at: start + k)
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }

    /// Appends the UTF-8 encoding of a Unicode scalar value (never a surrogate) to `scratch`.
    mutating func appendUTF8(_ scalar: UInt32) {
        switch scalar {
        case 0..<0x80:
            scratch.append(UInt8(scalar))
        case 0x80..<0x800:
            scratch.append(UInt8(0xC0 | scalar >> 6))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        case 0x800..<0x10000:
            scratch.append(UInt8(0xE0 | scalar >> 12))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        default:
            scratch.append(UInt8(0xF0 | scalar >> 18))
            scratch.append(UInt8(0x80 | scalar >> 12 & 0x3F))
            scratch.append(UInt8(0x80 | scalar >> 6 & 0x3F))
            scratch.append(UInt8(0x80 | scalar & 0x3F))
        }
    }

    /// Validates one multi-byte UTF-8 sequence (RFC 3629) starting at `i`; returns the index after it.
    func validateUTF8Sequence(at i: Int, quote: Int) throws(JSONParseError) -> Int {
        let lead = bytes[i]
        let trailing: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: trailing = 1
        case 0xE0: trailing = 2; secondRange = 0xA0...0xBF  // below: overlong
        case 0xE1...0xEC, 0xEE...0xEF: trailing = 2
        case 0xED: trailing = 2; secondRange = 0x80...0x9F  // above: UTF-16 surrogates
        case 0xF0: trailing = 3; secondRange = 0x90...0xBF  // below: overlong
        case 0xF1...0xF3: trailing = 3
        case 0xF4: trailing = 3; secondRange = 0x80...0x8F  // above: beyond U+10FFFF
        default:
            throw error("invalid UTF-8 byte \(hexByte(lead)) in string", at: i)
        }
        for k in 1...trailing {
            guard i + k < bytes.count else { throw error("unterminated string", at: quote) }
            let byte = bytes[i + k]
            let allowed = k == 1 ? secondRange : 0x80...0xBF
            guard allowed.contains(byte) else {
                throw error("invalid UTF-8 sequence in string (byte \(hexByte(byte)) after lead byte \(hexByte(lead)))", at: i + k)
            }
        }
        return i + trailing + 1
    }
}

/// `'x'` for printable ASCII, `byte 0xNN` otherwise.
private func describeByte(_ byte: UInt8) -> String {
    if byte >= 0x21 && byte < 0x7F {
        return "'\(Character(Unicode.Scalar(byte)))'"
    }
    return "byte \(hexByte(byte))"
}

/// The character after a backslash in an invalid escape, for messages.
private func describeEscapeByte(_ byte: UInt8) -> String {
    if byte >= 0x21 && byte < 0x7F {
        return String(Character(Unicode.Scalar(byte)))
    }
    return "(\(hexByte(byte)))"
}

/// `0xNN`, uppercase.
private func hexByte(_ byte: UInt8) -> String {
    let digits = String(byte, radix: 16, uppercase: true)
    return byte < 0x10 ? "0x0\(digits)" : "0x\(digits)"
}

/// Four uppercase hex digits.
private func hex4(_ value: UInt32) -> String {
    let digits = String(value, radix: 16, uppercase: true)
    return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
}

/// `U+NNNN`.
private func hexCodePoint(_ value: UInt32) -> String {
    "U+\(hex4(value))"
}
