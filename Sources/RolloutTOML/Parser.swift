extension TOMLTable {
    /// Parses a TOML 1.0.0 document (https://toml.io/en/v1.0.0), strictly: anything the
    /// specification does not allow is an error, including an integer outside the 64-bit range
    /// and arrays or inline tables nested deeper than 128 levels. A byte-order mark at the
    /// start is ignored; CRLF line endings are accepted (and read as LF inside multi-line strings).
    ///
    /// - Throws: ``TOMLParseError`` for the first problem, with its line and column.
    public init(parsing text: String) throws(TOMLParseError) {
        var text = text
        let result = text.withUTF8 { bytes in
            Result { () throws(TOMLParseError) -> TOMLTable in
                var parser = Parser(bytes: bytes)
                return try parser.parseDocument()
            }
        }
        self = try result.get()
    }
}

/// A TOML parser over UTF-8 bytes.
///
/// Each statement is parsed, then applied to ``TableTree`` under the rules on redefining
/// tables. Strings, arrays and inline tables are read by recursive descent, bounded by
/// ``maxDepth``.
struct Parser {
    /// The deepest nesting of tables, arrays and inline tables (the root table is depth 0).
    static let maxDepth = 128

    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0
    /// Where the text starts: after a byte-order mark, if any.
    let textStart: Int
    var tree = TableTree()
    /// The table that key/value lines go to: the root, or the last header's.
    var current = TableTree.root
    /// The section being parsed: the root's is 0, each header and each inline table starts one.
    var section = 0
    var sections = 0
    /// Bytes of the string being decoded, when it has escapes.
    var scratch: [UInt8] = []

    init(bytes: UnsafeBufferPointer<UInt8>) {
        self.bytes = bytes
        let hasByteOrderMark = bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF
        textStart = hasByteOrderMark ? 3 : 0
        position = textStart
    }

    mutating func parseDocument() throws(TOMLParseError) -> TOMLTable {
        while true {
            skipWhitespace()
            guard let byte = peek() else { break }
            switch byte {
            case .leftBracket:
                try parseHeader()
                try endLine(after: "the table header")
            case .hash, .lineFeed, .carriageReturn:
                try endLine(after: "the comment")
            default:
                try parseKeyValue(into: current)
                try endLine(after: "the value")
            }
        }
        return tree.freeze(TableTree.root)
    }

    // MARK: Lines

    /// Skips whitespace and a comment, then the end of the line (or of the document).
    private mutating func endLine(after statement: String) throws(TOMLParseError) {
        skipWhitespace()
        try skipComment()
        guard position < bytes.count, try !skipNewline() else { return }
        throw error("expected the end of the line after \(statement)")
    }

    /// Skips spaces and tabs.
    mutating func skipWhitespace() {
        while position < bytes.count, bytes[position] == .space || bytes[position] == .tab {
            position += 1
        }
    }

    /// Skips a comment, when one starts here, up to (not including) the end of its line.
    mutating func skipComment() throws(TOMLParseError) {
        guard peek() == .hash else { return }
        position += 1
        while position < bytes.count {
            let byte = bytes[position]
            if byte == .lineFeed || (byte == .carriageReturn && peek(1) == .lineFeed) { return }
            if byte.isControl, byte != .tab { throw error("control character in a comment") }
            position += 1
        }
    }

    /// Skips LF or CRLF and returns true; false when no newline starts here.
    mutating func skipNewline() throws(TOMLParseError) -> Bool {
        switch peek() {
        case .lineFeed:
            position += 1
            return true
        case .carriageReturn:
            guard peek(1) == .lineFeed else { throw error("a carriage return must be followed by a line feed") }
            position += 2
            return true
        default:
            return false
        }
    }

    // MARK: Statements

    /// `[a.b]` or `[[a.b]]`: makes the table current.
    private mutating func parseHeader() throws(TOMLParseError) {
        let start = position
        let isArray = peek(1) == .leftBracket
        position += isArray ? 2 : 1
        skipWhitespace()
        let key = try parseKey()
        guard peek() == .rightBracket, !isArray || peek(1) == .rightBracket else {
            throw error(isArray ? "expected ']]' at the end of the array-of-tables header" : "expected ']' at the end of the table header")
        }
        position += isArray ? 2 : 1
        sections += 1
        section = sections
        current = try openTable(key, isArray: isArray, at: start)
    }

    /// `key = value`, into `table`.
    mutating func parseKeyValue(into table: Int) throws(TOMLParseError) {
        let start = position
        let key = try parseKey()
        guard peek() == .equals else { throw error("expected '=' after the key") }
        position += 1
        skipWhitespace()
        let value = try parseValue(depth: tree.depth(of: table) + key.count)
        try insert(value, at: key, into: table, keyAt: start)
    }

    /// A bare, quoted or dotted key, and the whitespace after it.
    private mutating func parseKey() throws(TOMLParseError) -> [String] {
        var parts: [String] = []
        while true {
            parts.append(try parseSimpleKey())
            skipWhitespace()
            guard peek() == .period else { return parts }
            position += 1
            skipWhitespace()
        }
    }

    private mutating func parseSimpleKey() throws(TOMLParseError) -> String {
        switch peek() {
        case .quote, .apostrophe:
            let quote = bytes[position]
            guard peek(1) != quote || peek(2) != quote else { throw error("a multi-line string cannot be a key") }
            return quote == .quote ? try parseBasicString() : try parseLiteralString()
        default:
            let start = position
            while position < bytes.count, bytes[position].isBareKeyByte {
                position += 1
            }
            guard position > start else { throw error("expected a key") }
            return text(from: start)
        }
    }

    // MARK: Tables

    /// The node a header names, made or reopened under the rules: a table is defined once (a
    /// table its dotted keys defined, never), an array of tables is appended to only by
    /// `[[...]]`, and nothing is added to inline tables or arrays.
    private mutating func openTable(_ key: [String], isArray: Bool, at start: Int) throws(TOMLParseError) -> Int {
        var node = TableTree.root
        for (position, name) in key.enumerated() {
            let isLast = position == key.count - 1
            let depth = tree.depth(of: node) + 1
            switch tree.slot(Key(name), in: node) {
            case nil:
                try checkDepth(depth, at: start)
                let child = tree.makeNode(depth: depth, origin: isLast ? .header : .implicit)
                if isLast && isArray {
                    tree.addList(first: child, at: Key(name), to: node)
                } else {
                    tree.add(.table(child), at: Key(name), to: node)
                }
                node = child
            case .value(let value):
                throw error(Self.notATable(Self.describe(key[...position]), value), at: start)
            case .tables(let list) where isLast:
                guard isArray else { throw error("table [\(Self.describe(key[...position]))] is already defined as an array of tables", at: start) }
                try checkDepth(depth, at: start)
                let child = tree.makeNode(depth: depth, origin: .header)
                tree.append(child, toList: list)
                node = child
            case .tables(let list):
                node = tree.lastTable(of: list)
            case .table(let child) where isLast:
                guard !isArray else { throw error("[[\(Self.describe(key[...position]))]] names a table, not an array of tables", at: start) }
                switch tree.origin(of: child) {
                case .implicit: tree.setOrigin(.header, of: child)
                case .header: throw error("table [\(Self.describe(key[...position]))] is defined twice", at: start)
                case .dotted: throw error("table [\(Self.describe(key[...position]))] is already defined by dotted keys", at: start)
                }
                node = child
            case .table(let child):
                node = child
            }
        }
        return node
    }

    /// Adds `key = value` to `table`: dotted keys make tables, or add to tables they made in
    /// this section (or that headers made implicitly); the last part must be a new key.
    private mutating func insert(_ value: TOMLValue, at key: [String], into table: Int, keyAt start: Int) throws(TOMLParseError) {
        var node = table
        for (position, name) in key.dropLast().enumerated() {
            switch tree.slot(Key(name), in: node) {
            case nil:
                let depth = tree.depth(of: node) + 1
                try checkDepth(depth, at: start)
                let child = tree.makeNode(depth: depth, origin: .dotted(section: section))
                tree.add(.table(child), at: Key(name), to: node)
                node = child
            case .value(let value):
                throw error(Self.notATable(Self.describe(key[...position]), value), at: start)
            case .tables:
                throw error("dotted keys cannot add to the array of tables \"\(Self.describe(key[...position]))\"", at: start)
            case .table(let child):
                switch tree.origin(of: child) {
                case .implicit: tree.setOrigin(.dotted(section: section), of: child)
                case .dotted(let defined) where defined == section: break
                case .header, .dotted: throw error("dotted keys cannot add to table \"\(Self.describe(key[...position]))\": it is defined elsewhere", at: start)
                }
                node = child
            }
        }
        let name = key[key.count - 1]
        guard let existing = tree.slot(Key(name), in: node) else {
            tree.add(.value(value), at: Key(name), to: node)
            return
        }
        let path = Self.describe(key[...])
        switch existing {
        case .value: throw error("duplicate key \"\(path)\"", at: start)
        case .table: throw error("duplicate key \"\(path)\": it is already a table", at: start)
        case .tables: throw error("duplicate key \"\(path)\": it is already an array of tables", at: start)
        }
    }

    /// Why a table cannot go where `value` is.
    private static func notATable(_ path: String, _ value: TOMLValue) -> String {
        switch value {
        case .table: "cannot add to the inline table \"\(path)\""
        case .array: "cannot add to \"\(path)\": it is an array, not a table"
        default: "cannot add to \"\(path)\": it is a \(value.typeName), not a table"
        }
    }

    /// A key path as TOML (`a.'b c'`), for messages.
    static func describe(_ key: ArraySlice<String>) -> String {
        var text = ""
        for name in key {
            if !text.isEmpty { text += "." }
            TOMLValue.writeKey(name, to: &text)
        }
        return text
    }

    func checkDepth(_ depth: Int, at start: Int? = nil) throws(TOMLParseError) {
        guard depth <= Self.maxDepth else {
            throw error("tables and arrays are nested more than \(Self.maxDepth) levels deep", at: start)
        }
    }

    // MARK: Bytes

    @inline(__always)
    func peek(_ offset: Int = 0) -> UInt8? {
        position + offset < bytes.count ? bytes[position + offset] : nil
    }

    /// The text from `start` to the current position.
    func text(from start: Int, to end: Int? = nil) -> String {
        String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<(end ?? position)]), as: UTF8.self)
    }

    /// An error at `offset` (the current position by default), with its line and column.
    func error(_ message: String, at offset: Int? = nil) -> TOMLParseError {
        let offset = min(offset ?? position, bytes.count)
        var line = 1
        var lineStart = textStart
        for index in textStart..<offset where bytes[index] == .lineFeed {
            line += 1
            lineStart = index + 1
        }
        // Columns count scalars: every byte but UTF-8 continuation bytes.
        let column = 1 + bytes[lineStart..<offset].count { $0 & 0xC0 != 0x80 }
        return TOMLParseError(line: line, column: column, message: message)
    }
}

extension UInt8 {
    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let hash = UInt8(ascii: "#")
    static let apostrophe = UInt8(ascii: "'")
    static let plus = UInt8(ascii: "+")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let period = UInt8(ascii: ".")
    static let colon = UInt8(ascii: ":")
    static let equals = UInt8(ascii: "=")
    static let leftBracket = UInt8(ascii: "[")
    static let backslash = UInt8(ascii: "\\")
    static let rightBracket = UInt8(ascii: "]")
    static let underscore = UInt8(ascii: "_")
    static let leftBrace = UInt8(ascii: "{")
    static let rightBrace = UInt8(ascii: "}")

    var isDigit: Bool { self >= UInt8(ascii: "0") && self <= UInt8(ascii: "9") }
}
