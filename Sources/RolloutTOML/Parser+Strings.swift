extension Parser {
    /// `"..."`: escapes decoded; no newline, no control character but tab.
    mutating func parseBasicString() throws(TOMLParseError) -> String {
        position += 1
        let start = position
        while position < bytes.count, bytes[position].isPlainStringByte {
            position += 1
        }
        if peek() == .quote {
            defer { position += 1 }
            return text(from: start)
        }
        scratch.removeAll(keepingCapacity: true)
        scratch.append(contentsOf: bytes[start..<position])
        while true {
            guard let byte = peek(), byte != .lineFeed, byte != .carriageReturn else {
                throw error("unterminated string")
            }
            switch byte {
            case .quote:
                position += 1
                return String(decoding: scratch, as: UTF8.self)
            case .backslash:
                try appendEscape()
            default:
                guard !byte.isControl || byte == .tab else { throw error("control character in a string") }
                scratch.append(byte)
                position += 1
            }
        }
    }

    /// `"""..."""`: a newline right after the opening quotes is dropped, escapes are decoded,
    /// and a backslash at the end of a line removes it and the whitespace that follows.
    mutating func parseMultilineBasicString() throws(TOMLParseError) -> String {
        position += 3
        _ = try skipNewline()
        scratch.removeAll(keepingCapacity: true)
        while true {
            let start = position
            while position < bytes.count, bytes[position].isPlainStringByte || bytes[position] == .lineFeed {
                position += 1
            }
            scratch.append(contentsOf: bytes[start..<position])
            guard let byte = peek() else { throw error("unterminated multi-line string") }
            switch byte {
            case .quote:
                guard peek(1) == .quote, peek(2) == .quote else {
                    scratch.append(byte)
                    position += 1
                    continue
                }
                position += 3
                appendClosingExtras(.quote)
                return String(decoding: scratch, as: UTF8.self)
            case .backslash:
                if let next = peek(1), next == .space || next == .tab || next == .lineFeed || next == .carriageReturn {
                    try skipLineEndingBackslash()
                } else {
                    try appendEscape()
                }
            case .carriageReturn:
                _ = try skipNewline()
                scratch.append(.lineFeed)
            default:
                throw error("control character in a string")
            }
        }
    }

    /// `'...'`: taken as written; no newline, no control character but tab.
    mutating func parseLiteralString() throws(TOMLParseError) -> String {
        position += 1
        let start = position
        while let byte = peek(), byte != .apostrophe {
            guard !byte.isControl || byte == .tab else {
                throw error(byte == .lineFeed || byte == .carriageReturn ? "unterminated string" : "control character in a string")
            }
            position += 1
        }
        guard position < bytes.count else { throw error("unterminated string") }
        defer { position += 1 }
        return text(from: start)
    }

    /// `'''...'''`: taken as written (CRLF read as LF), but a newline right after the opening
    /// quotes is dropped.
    mutating func parseMultilineLiteralString() throws(TOMLParseError) -> String {
        position += 3
        _ = try skipNewline()
        let start = position
        var hasCarriageReturns = false
        while true {
            guard let byte = peek() else { throw error("unterminated multi-line string") }
            if byte == .apostrophe, peek(1) == .apostrophe, peek(2) == .apostrophe { break }
            if byte == .carriageReturn {
                _ = try skipNewline()
                hasCarriageReturns = true
                continue
            }
            guard !byte.isControl || byte == .tab || byte == .lineFeed else { throw error("control character in a string") }
            position += 1
        }
        scratch.removeAll(keepingCapacity: true)
        if hasCarriageReturns {
            scratch.append(contentsOf: bytes[start..<position].lazy.filter { $0 != .carriageReturn })
        } else {
            scratch.append(contentsOf: bytes[start..<position])
        }
        position += 3
        appendClosingExtras(.apostrophe)
        return String(decoding: scratch, as: UTF8.self)
    }

    /// A multi-line string may end with up to two more quotes than its delimiter (`""""` ends
    /// with one `"` of content, `"""""` with two).
    private mutating func appendClosingExtras(_ quote: UInt8) {
        for _ in 0..<2 where peek() == quote {
            scratch.append(quote)
            position += 1
        }
    }

    /// A backslash followed by whitespace up to the end of the line: skips it and every space,
    /// tab and newline after it.
    private mutating func skipLineEndingBackslash() throws(TOMLParseError) {
        position += 1
        skipWhitespace()
        guard try skipNewline() else {
            throw error("a line-ending backslash must be followed by nothing but whitespace on its line")
        }
        while true {
            skipWhitespace()
            guard try skipNewline() else { return }
        }
    }

    /// Decodes the escape sequence at the current `\` into ``scratch``.
    private mutating func appendEscape() throws(TOMLParseError) {
        guard let escape = peek(1) else { throw error("unterminated string") }
        let simple: UInt8? =
            switch escape {
            case UInt8(ascii: "b"): 0x08
            case UInt8(ascii: "t"): .tab
            case UInt8(ascii: "n"): .lineFeed
            case UInt8(ascii: "f"): 0x0C
            case UInt8(ascii: "r"): .carriageReturn
            case .quote: .quote
            case .backslash: .backslash
            default: nil
            }
        if let simple {
            scratch.append(simple)
            position += 2
            return
        }
        let digits: Int
        switch escape {
        case UInt8(ascii: "u"): digits = 4
        case UInt8(ascii: "U"): digits = 8
        default: throw error("invalid escape sequence in a string")
        }
        var value: UInt32 = 0
        for offset in 2..<(2 + digits) {
            guard let digit = peek(offset).flatMap(\.hexDigitValue) else {
                throw error("\\\(digits == 4 ? "u" : "U") must be followed by \(digits) hexadecimal digits")
            }
            value = value << 4 | UInt32(digit)
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error("escape sequence is not a Unicode scalar value (surrogates and values above 10FFFF are not)")
        }
        UTF8.encode(scalar) { scratch.append($0) }
        position += 2 + digits
    }
}

extension UInt8 {
    /// A byte that stands for itself in a basic string: not `"`, `\` nor a control character but tab.
    var isPlainStringByte: Bool {
        self != .quote && self != .backslash && (!isControl || self == .tab)
    }

    /// The value of a hexadecimal digit.
    var hexDigitValue: UInt8? {
        switch self {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): self - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): self - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): self - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
