extension JSONValue {
    /// The compact JSON encoding of this value as UTF-8 bytes.
    ///
    /// The output has no insignificant whitespace and never contains a raw newline, so it can be
    /// framed as one line. See ``write(to:)`` for the exact rules.
    public func serialized() -> [UInt8] {
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64)
        write(to: &buffer)
        return buffer
    }

    /// Appends the compact JSON encoding of this value to `buffer`.
    ///
    /// - Objects are written in stored member order, with no spaces.
    /// - Numbers are written as their literal ``JSONNumber/text``.
    /// - Strings escape `"`, `\`, every control character below U+0020 (`\n`, `\r`, `\t`, `\b`,
    ///   `\f` in short form, others as `\u00XX` with lowercase hex) and U+2028/U+2029 (as
    ///   `\u2028`/`\u2029`); `/` and all other characters are written as raw UTF-8.
    public func write(to buffer: inout [UInt8]) {
        switch self {
        case .null:
            buffer.append(contentsOf: "null".utf8)
        case .bool(let value):
            buffer.append(contentsOf: value ? "true".utf8 : "false".utf8)
        case .number(let number):
            buffer.append(contentsOf: number.text.utf8)
        case .string(let string):
            writeJSONString(string, to: &buffer)
        case .array(let elements):
            buffer.append(UInt8(ascii: "["))
            var first = true
            for element in elements {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                element.write(to: &buffer)
            }
            buffer.append(UInt8(ascii: "]"))
        case .object(let object):
            buffer.append(UInt8(ascii: "{"))
            var first = true
            for (key, value) in object {
                if !first { buffer.append(UInt8(ascii: ",")) }
                first = false
                writeJSONString(key, to: &buffer)
                buffer.append(UInt8(ascii: ":"))
                value.write(to: &buffer)
            }
            buffer.append(UInt8(ascii: "}"))
        }
    }

    /// The compact JSON encoding of this value as a string (same bytes as ``serialized()``).
    public var jsonString: String {
        String(decoding: serialized(), as: UTF8.self)
    }
}

/// Appends `string` as a quoted, escaped JSON string, copying unescaped runs in bulk.
func writeJSONString(_ string: String, to buffer: inout [UInt8]) {
    var string = string
    buffer.append(UInt8(ascii: "\""))
    string.withUTF8 { utf8 in
        let count = utf8.count
        var runStart = 0
        var i = 0
        while i < count {
            let byte = utf8[i]
            if byte >= 0x20 && byte != UInt8(ascii: "\"") && byte != UInt8(ascii: "\\") && byte != 0xE2 {
                i += 1
                continue
            }
            if byte == 0xE2 {
                // U+2028 LINE SEPARATOR / U+2029 PARAGRAPH SEPARATOR are E2 80 A8 / E2 80 A9.
                guard i + 2 < count, utf8[i + 1] == 0x80, utf8[i + 2] == 0xA8 || utf8[i + 2] == 0xA9 else {
                    i += 1
                    continue
                }
                buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
                buffer.append(contentsOf: utf8[i + 2] == 0xA8 ? #"\u2028"#.utf8 : #"\u2029"#.utf8)
                i += 3
                runStart = i
                continue
            }
            buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<i]))
            appendEscape(for: byte, to: &buffer)
            i += 1
            runStart = i
        }
        buffer.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[runStart..<count]))
    }
    buffer.append(UInt8(ascii: "\""))
}

/// Appends the escape sequence for `"`, `\` or a control character.
private func appendEscape(for byte: UInt8, to buffer: inout [UInt8]) {
    buffer.append(UInt8(ascii: "\\"))
    switch byte {
    case UInt8(ascii: "\""): buffer.append(UInt8(ascii: "\""))
    case UInt8(ascii: "\\"): buffer.append(UInt8(ascii: "\\"))
    case 0x0A: buffer.append(UInt8(ascii: "n"))
    case 0x0D: buffer.append(UInt8(ascii: "r"))
    case 0x09: buffer.append(UInt8(ascii: "t"))
    case 0x08: buffer.append(UInt8(ascii: "b"))
    case 0x0C: buffer.append(UInt8(ascii: "f"))
    default:
        let hexDigits: StaticString = "0123456789abcdef"
        let digits = hexDigits.utf8Start
        buffer.append(UInt8(ascii: "u"))
        buffer.append(UInt8(ascii: "0"))
        buffer.append(UInt8(ascii: "0"))
        buffer.append(digits[Int(byte >> 4)])
        buffer.append(digits[Int(byte & 0x0F)])
    }
}
