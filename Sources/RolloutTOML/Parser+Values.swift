extension Parser {
    /// The value that starts here; `depth` is its own (the containing table's plus the key's parts).
    mutating func parseValue(depth: Int) throws(TOMLParseError) -> TOMLValue {
        guard let byte = peek() else { throw error("expected a value") }
        switch byte {
        case .quote:
            let isMultiline = peek(1) == .quote && peek(2) == .quote
            return .string(isMultiline ? try parseMultilineBasicString() : try parseBasicString())
        case .apostrophe:
            let isMultiline = peek(1) == .apostrophe && peek(2) == .apostrophe
            return .string(isMultiline ? try parseMultilineLiteralString() : try parseLiteralString())
        case UInt8(ascii: "t"):
            return try parseWord("true", meaning: .boolean(true))
        case UInt8(ascii: "f"):
            return try parseWord("false", meaning: .boolean(false))
        case UInt8(ascii: "i"):
            return try parseWord("inf", meaning: .float(.infinity))
        case UInt8(ascii: "n"):
            return try parseWord("nan", meaning: .float(.nan))
        case .leftBracket:
            return try parseArray(depth: depth)
        case .leftBrace:
            return try parseInlineTable(depth: depth)
        case .plus, .minus:
            switch peek(1) {
            case UInt8(ascii: "i"):
                position += 1
                return try parseWord("inf", meaning: .float(byte == .minus ? -.infinity : .infinity))
            case UInt8(ascii: "n"):
                position += 1
                return try parseWord("nan", meaning: .float(byte == .minus ? -.nan : .nan))
            default:
                return try parseNumber()
            }
        case _ where byte.isDigit:
            if hasDigits(at: 0..<4), peek(4) == .minus { return try parseDateOrDateTime() }
            if hasDigits(at: 0..<2), peek(2) == .colon {
                let start = position
                try parseTime()
                return .localTime(text(from: start))
            }
            return try parseNumber()
        default:
            throw error("expected a value")
        }
    }

    private mutating func parseWord(_ word: StaticString, meaning value: TOMLValue) throws(TOMLParseError) -> TOMLValue {
        let length = word.utf8CodeUnitCount
        guard position + length <= bytes.count,
            UnsafeBufferPointer(start: word.utf8Start, count: length).elementsEqual(bytes[position..<(position + length)])
        else {
            throw error("expected a value")
        }
        position += length
        return value
    }

    // MARK: Numbers

    /// An integer (decimal, `0x`, `0o` or `0b`) or a float with a fraction and/or exponent.
    private mutating func parseNumber() throws(TOMLParseError) -> TOMLValue {
        let start = position
        if peek() == UInt8(ascii: "0"), let prefix = peek(1) {
            switch prefix {
            case UInt8(ascii: "x"): return try parseInteger(radix: 16)
            case UInt8(ascii: "o"): return try parseInteger(radix: 8)
            case UInt8(ascii: "b"): return try parseInteger(radix: 2)
            default: break
            }
        }
        let negative = peek() == .minus
        if negative || peek() == .plus { position += 1 }
        guard let first = peek(), first.isDigit else { throw error("expected a value") }
        if first == UInt8(ascii: "0") {
            position += 1
            if let next = peek(), next.isDigit || next == .underscore {
                throw error("a number cannot start with a zero (except 0 itself and floats like 0.5)")
            }
        } else {
            try skipDigits(radix: 10)
        }
        var isFloat = false
        if peek() == .period {
            position += 1
            guard peek()?.isDigit == true else { throw error("a decimal point must be followed by a digit") }
            try skipDigits(radix: 10)
            isFloat = true
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            position += 1
            if peek() == .plus || peek() == .minus { position += 1 }
            guard peek()?.isDigit == true else { throw error("an exponent must have digits") }
            try skipDigits(radix: 10)
            isFloat = true
        }
        let digits = bytes[start..<position].lazy.filter { $0 != .underscore }
        if isFloat {
            // Checked against TOML's grammar above, which Swift's parser (strtod) accepts too.
            guard let double = Double(String(decoding: digits, as: UTF8.self)) else {
                throw error("invalid floating-point number", at: start)
            }
            return .float(double)
        }
        var magnitude: UInt64 = 0
        for digit in digits where digit.isDigit {
            guard let next = Self.accumulate(magnitude, digit: digit - UInt8(ascii: "0"), radix: 10) else {
                throw error(Self.outOfRange, at: start)
            }
            magnitude = next
        }
        if negative {
            // -9223372036854775808 has no positive counterpart.
            guard magnitude <= UInt64(Int64.max) + 1 else { throw error(Self.outOfRange, at: start) }
            return .integer(Int64(truncatingIfNeeded: 0 &- magnitude))
        }
        guard let integer = Int64(exactly: magnitude) else { throw error(Self.outOfRange, at: start) }
        return .integer(integer)
    }

    /// `0x1F`, `0o17`, `0b1010`: no sign, digits with single underscores between them.
    private mutating func parseInteger(radix: Int) throws(TOMLParseError) -> TOMLValue {
        let start = position
        position += 2
        guard let first = peek(), first.digitValue(radix: radix) != nil else {
            throw error("expected a digit after the number's prefix")
        }
        let digitsStart = position
        try skipDigits(radix: radix)
        var magnitude: UInt64 = 0
        for byte in bytes[digitsStart..<position] {
            guard let digit = byte.digitValue(radix: radix) else { continue }
            guard let next = Self.accumulate(magnitude, digit: digit, radix: radix) else {
                throw error(Self.outOfRange, at: start)
            }
            magnitude = next
        }
        guard let integer = Int64(exactly: magnitude) else { throw error(Self.outOfRange, at: start) }
        return .integer(integer)
    }

    private static let outOfRange = "integer out of the 64-bit range"

    /// `magnitude * radix + digit`, or nil on overflow.
    private static func accumulate(_ magnitude: UInt64, digit: UInt8, radix: Int) -> UInt64? {
        let (shifted, overflow) = magnitude.multipliedReportingOverflow(by: UInt64(radix))
        let (sum, carry) = shifted.addingReportingOverflow(UInt64(digit))
        return overflow || carry ? nil : sum
    }

    /// Skips a digit and the digits after it, each optionally preceded by one underscore.
    private mutating func skipDigits(radix: Int) throws(TOMLParseError) {
        position += 1
        while let byte = peek() {
            if byte.digitValue(radix: radix) != nil {
                position += 1
            } else if byte == .underscore {
                guard peek(1)?.digitValue(radix: radix) != nil else {
                    throw error("an underscore in a number must be between two digits")
                }
                position += 2
            } else {
                return
            }
        }
    }

    // MARK: Dates and times

    private func hasDigits(at offsets: Range<Int>) -> Bool {
        offsets.allSatisfy { peek($0)?.isDigit == true }
    }

    /// `1979-05-27`, optionally followed by `T`, `t` or a space, a time and an offset (`Z`,
    /// `z`, `+07:00`).
    private mutating func parseDateOrDateTime() throws(TOMLParseError) -> TOMLValue {
        let start = position
        let year = try readDigits(4, "date")
        try expect(.minus, "date")
        let month = try readDigits(2, "date")
        try expect(.minus, "date")
        let day = try readDigits(2, "date")
        guard (1...12).contains(month) else { throw error("invalid date: the month must be 01 to 12", at: start) }
        guard (1...Self.days(inMonth: month, of: year)).contains(day) else {
            throw error("invalid date: that month has no such day", at: start)
        }
        switch peek() {
        case UInt8(ascii: "T"), UInt8(ascii: "t"):
            position += 1
        case .space where peek(1)?.isDigit == true:
            position += 1
        default:
            return .localDate(text(from: start))
        }
        try parseTime()
        switch peek() {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            position += 1
        case .plus, .minus:
            let offsetStart = position
            position += 1
            let hours = try readDigits(2, "time offset")
            try expect(.colon, "time offset")
            let minutes = try readDigits(2, "time offset")
            guard hours <= 23, minutes <= 59 else { throw error("invalid time offset", at: offsetStart) }
        default:
            return .localDateTime(text(from: start))
        }
        return .offsetDateTime(text(from: start))
    }

    /// `07:32:00`, optionally with a fraction of a second (`07:32:00.999999`).
    private mutating func parseTime() throws(TOMLParseError) {
        let start = position
        let hour = try readDigits(2, "time")
        try expect(.colon, "time")
        let minute = try readDigits(2, "time")
        try expect(.colon, "time")
        let second = try readDigits(2, "time")
        guard hour <= 23, minute <= 59, second <= 60 else {
            throw error("invalid time: hours must be 00 to 23, minutes 00 to 59, seconds 00 to 60", at: start)
        }
        guard peek() == .period else { return }
        position += 1
        guard peek()?.isDigit == true else { throw error("invalid time: a decimal point must be followed by a digit") }
        while peek()?.isDigit == true {
            position += 1
        }
    }

    private mutating func readDigits(_ count: Int, _ what: String) throws(TOMLParseError) -> Int {
        var value = 0
        for _ in 0..<count {
            guard let byte = peek(), byte.isDigit else { throw error("invalid \(what)") }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
            position += 1
        }
        return value
    }

    private mutating func expect(_ byte: UInt8, _ what: String) throws(TOMLParseError) {
        guard peek() == byte else { throw error("invalid \(what)") }
        position += 1
    }

    private static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // MARK: Arrays and inline tables

    /// `[ value, value, ]`: over several lines if need be, with comments.
    private mutating func parseArray(depth: Int) throws(TOMLParseError) -> TOMLValue {
        try checkDepth(depth)
        position += 1
        var elements: [TOMLValue] = []
        while true {
            try skipArraySpace()
            guard position < bytes.count else { throw error("unterminated array") }
            if peek() == .rightBracket { break }
            elements.append(try parseValue(depth: depth + 1))
            try skipArraySpace()
            guard let byte = peek() else { throw error("unterminated array") }
            if byte == .rightBracket { break }
            guard byte == .comma else { throw error("expected ',' or ']' after an array element") }
            position += 1
        }
        position += 1
        return .array(elements)
    }

    /// Skips whitespace, newlines and comments.
    private mutating func skipArraySpace() throws(TOMLParseError) {
        while true {
            skipWhitespace()
            try skipComment()
            guard try skipNewline() else { return }
        }
    }

    /// `{ key = value, key = value }`: on one line, no trailing comma, complete once closed.
    private mutating func parseInlineTable(depth: Int) throws(TOMLParseError) -> TOMLValue {
        try checkDepth(depth)
        position += 1
        let outerSection = section
        sections += 1
        section = sections
        defer { section = outerSection }
        let node = tree.makeNode(depth: depth, origin: .dotted(section: section))
        skipWhitespace()
        if peek() == .rightBrace {
            position += 1
        } else {
            while true {
                if peek() == .lineFeed || peek() == .carriageReturn { throw error("an inline table must be on one line") }
                try parseKeyValue(into: node)
                skipWhitespace()
                guard let byte = peek() else { throw error("unterminated inline table") }
                if byte == .rightBrace {
                    position += 1
                    break
                }
                guard byte == .comma else {
                    throw error(
                        byte == .lineFeed || byte == .carriageReturn
                            ? "an inline table must be on one line" : "expected ',' or '}' after a value in an inline table")
                }
                position += 1
                skipWhitespace()
                if peek() == .rightBrace { throw error("an inline table cannot end with a comma") }
            }
        }
        let table = tree.freeze(node)
        tree.discard(from: node)
        return .table(table)
    }
}

extension UInt8 {
    /// The value of a digit in `radix` (2, 8, 10 or 16).
    func digitValue(radix: Int) -> UInt8? {
        guard let value = hexDigitValue, Int(value) < radix else { return nil }
        return value
    }
}
