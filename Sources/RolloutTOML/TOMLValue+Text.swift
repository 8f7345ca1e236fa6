extension TOMLValue {
    /// The value as inline TOML, the way toml++ printed it (messages rely on it): arrays as
    /// `[ 1, 'a' ]` (`[]` when empty), inline tables as `{ a = 1, 'b c' = true }` (`{}`),
    /// strings as literal strings `'...'` unless they contain `'` or a control character (then
    /// as basic strings with escapes), integers in decimal, floats as Swift prints them (`inf`,
    /// `-inf`, `nan`), dates and times as written.
    public var tomlText: String {
        var text = ""
        write(to: &text)
        return text
    }

    private func write(to text: inout String) {
        switch self {
        case .string(let string):
            Self.writeQuoted(string, to: &text)
        case .integer(let integer):
            text += String(integer)
        case .float(let double):
            if double.isNaN {
                text += "nan"
            } else if double.isInfinite {
                text += double < 0 ? "-inf" : "inf"
            } else {
                text += double.description
            }
        case .boolean(let bool):
            text += bool ? "true" : "false"
        case .offsetDateTime(let source), .localDateTime(let source), .localDate(let source), .localTime(let source):
            text += source
        case .array(let elements):
            guard !elements.isEmpty else {
                text += "[]"
                return
            }
            text += "[ "
            for (position, element) in elements.enumerated() {
                if position > 0 { text += ", " }
                element.write(to: &text)
            }
            text += " ]"
        case .table(let table):
            guard table.count > 0 else {
                text += "{}"
                return
            }
            text += "{ "
            for (position, (key, value)) in table.entries.enumerated() {
                if position > 0 { text += ", " }
                Self.writeKey(key, to: &text)
                text += " = "
                value.write(to: &text)
            }
            text += " }"
        }
    }

    /// A key as TOML: bare when it is made of `A-Za-z0-9_-` only, quoted otherwise.
    static func writeKey(_ key: String, to text: inout String) {
        if !key.isEmpty, key.utf8.allSatisfy(\.isBareKeyByte) {
            text += key
        } else {
            writeQuoted(key, to: &text)
        }
    }

    /// A literal string when `string` holds no `'` and no control character, else a basic
    /// string with escapes.
    static func writeQuoted(_ string: String, to text: inout String) {
        guard string.utf8.contains(where: { $0 == UInt8(ascii: "'") || $0.isControl }) else {
            text += "'"
            text += string
            text += "'"
            return
        }
        text += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\u{08}": text += "\\b"
            case "\t": text += "\\t"
            case "\n": text += "\\n"
            case "\u{0C}": text += "\\f"
            case "\r": text += "\\r"
            case "\u{00}"..."\u{1F}", "\u{7F}":
                let hex = String(scalar.value, radix: 16, uppercase: true)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(scalar)
            }
        }
        text += "\""
    }
}

extension UInt8 {
    /// `A-Z`, `a-z`, `0-9`, `_` or `-`: a byte of a bare key.
    var isBareKeyByte: Bool {
        switch self {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    /// An ASCII control character: U+0000 to U+001F or U+007F (tab included).
    var isControl: Bool { self < 0x20 || self == 0x7F }
}
