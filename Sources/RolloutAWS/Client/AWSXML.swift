/// An element of an AWS XML document (S3 and Query-protocol responses and errors).
///
/// Names are local names: a namespace prefix (`s3:Key`) is dropped. ``text`` is the element's
/// own character data with entities and CDATA decoded; for a leaf such as `<Code>NoSuchKey</Code>`
/// it is the value.
public struct AWSXMLElement: Sendable, Hashable {
    /// The local name.
    public var name: String
    /// Attributes by local name (`xmlns` declarations included as written).
    public var attributes: [String: String]
    /// Child elements in document order.
    public var children: [AWSXMLElement]
    /// The character data directly inside this element.
    public var text: String

    /// An element from its parts.
    public init(name: String, attributes: [String: String] = [:], children: [AWSXMLElement] = [], text: String = "") {
        self.name = name
        self.attributes = attributes
        self.children = children
        self.text = text
    }

    /// The first child named `name`.
    public func child(_ name: String) -> AWSXMLElement? {
        children.first { $0.name == name }
    }

    /// Every child named `name`, in order.
    public func children(_ name: String) -> [AWSXMLElement] {
        children.filter { $0.name == name }
    }

    /// The text of the first child named `name`.
    public func childText(_ name: String) -> String? {
        child(name)?.text
    }

    /// The first element named `name` in a depth-first, document-order walk, this one included.
    public func firstDescendant(_ name: String) -> AWSXMLElement? {
        if self.name == name { return self }
        for child in children {
            if let found = child.firstDescendant(name) { return found }
        }
        return nil
    }
}

/// Why a document could not be parsed.
public struct AWSXMLError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Byte offset of the problem.
    public var offset: Int
    /// What was wrong.
    public var reason: String

    /// `XML error at byte N: reason`.
    public var description: String { "XML error at byte \(offset): \(reason)" }
}

/// A small non-validating XML parser, enough for AWS responses: prolog, comments, processing
/// instructions, CDATA, the five named entities and numeric character references. Document
/// type declarations are refused (no entity expansion).
public enum AWSXML {
    /// Parses `bytes` and returns the root element.
    public static func parse(_ bytes: [UInt8], maxDepth: Int = 256) throws(AWSXMLError) -> AWSXMLElement {
        var parser = Parser(bytes: bytes, maxDepth: maxDepth)
        return try parser.document()
    }

    /// Parses `text` and returns the root element.
    public static func parse(_ text: String) throws(AWSXMLError) -> AWSXMLElement {
        try parse(Array(text.utf8))
    }

    /// Escapes `&`, `<`, `>`, `"` and `'` for use in element text or attribute values.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            default: out.append(character)
            }
        }
        return out
    }

    private struct Parser {
        let bytes: [UInt8]
        let maxDepth: Int
        var index = 0

        init(bytes: [UInt8], maxDepth: Int) {
            self.bytes = bytes
            self.maxDepth = maxDepth
        }

        func fail(_ reason: String) -> AWSXMLError {
            AWSXMLError(offset: index, reason: reason)
        }

        func peek(_ literal: String) -> Bool {
            let utf8 = literal.utf8
            guard bytes.count - index >= utf8.count else { return false }
            return bytes[index..<(index + utf8.count)].elementsEqual(utf8)
        }

        mutating func skip(past literal: String) throws(AWSXMLError) {
            let target = Array(literal.utf8)
            while index + target.count <= bytes.count {
                if bytes[index..<(index + target.count)].elementsEqual(target) {
                    index += target.count
                    return
                }
                index += 1
            }
            throw fail("expected \(literal)")
        }

        mutating func skipWhitespace() {
            while index < bytes.count, Self.isSpace(bytes[index]) { index += 1 }
        }

        static func isSpace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        /// Skips whitespace, comments and processing instructions between top-level items.
        mutating func skipMisc() throws(AWSXMLError) {
            while true {
                skipWhitespace()
                if peek("<?") {
                    try skip(past: "?>")
                } else if peek("<!--") {
                    try skip(past: "-->")
                } else if peek("<!DOCTYPE") || peek("<!doctype") {
                    throw fail("document type declarations are not accepted")
                } else {
                    return
                }
            }
        }

        mutating func document() throws(AWSXMLError) -> AWSXMLElement {
            if peek("\u{FEFF}") { index += 3 }
            try skipMisc()
            guard index < bytes.count, bytes[index] == UInt8(ascii: "<") else { throw fail("expected a root element") }
            let root = try element(depth: 1)
            try skipMisc()
            guard index == bytes.count else { throw fail("unexpected content after the root element") }
            return root
        }

        mutating func name() throws(AWSXMLError) -> String {
            let start = index
            while index < bytes.count {
                let byte = bytes[index]
                if Self.isSpace(byte) || byte == UInt8(ascii: ">") || byte == UInt8(ascii: "/")
                    || byte == UInt8(ascii: "=") || byte == UInt8(ascii: "<")
                {
                    break
                }
                index += 1
            }
            guard index > start else { throw fail("expected a name") }
            return String(decoding: bytes[start..<index], as: UTF8.self)
        }

        static func localName(_ name: String) -> String {
            guard let colon = name.lastIndex(of: ":") else { return name }
            return String(name[name.index(after: colon)...])
        }

        /// Parses `<name attr="v">...</name>` or `<name/>`; `index` is at `<`.
        mutating func element(depth: Int) throws(AWSXMLError) -> AWSXMLElement {
            guard depth <= maxDepth else { throw fail("nested deeper than \(maxDepth) elements") }
            index += 1
            let qualifiedName = try name()
            var element = AWSXMLElement(name: Self.localName(qualifiedName))
            while true {
                skipWhitespace()
                guard index < bytes.count else { throw fail("unterminated start tag") }
                if peek("/>") {
                    index += 2
                    return element
                }
                if bytes[index] == UInt8(ascii: ">") {
                    index += 1
                    break
                }
                let attributeName = try name()
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "=") else { throw fail("expected = after an attribute name") }
                index += 1
                skipWhitespace()
                guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") || bytes[index] == UInt8(ascii: "'") else {
                    throw fail("expected a quoted attribute value")
                }
                let quote = bytes[index]
                index += 1
                let start = index
                while index < bytes.count, bytes[index] != quote { index += 1 }
                guard index < bytes.count else { throw fail("unterminated attribute value") }
                let raw = bytes[start..<index]
                index += 1
                element.attributes[Self.localName(attributeName)] = try decodeEntities(raw)
            }
            var text: [UInt8] = []
            while true {
                guard index < bytes.count else { throw fail("unterminated element <\(qualifiedName)>") }
                let byte = bytes[index]
                if byte == UInt8(ascii: "<") {
                    if peek("</") {
                        index += 2
                        let closing = try name()
                        guard closing == qualifiedName else {
                            throw fail("</\(closing)> does not close <\(qualifiedName)>")
                        }
                        skipWhitespace()
                        guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { throw fail("expected >") }
                        index += 1
                        element.text = String(decoding: text, as: UTF8.self)
                        return element
                    } else if peek("<![CDATA[") {
                        index += 9
                        let start = index
                        try skip(past: "]]>")
                        text.append(contentsOf: bytes[start..<(index - 3)])
                    } else if peek("<!--") {
                        try skip(past: "-->")
                    } else if peek("<?") {
                        try skip(past: "?>")
                    } else if peek("<!") {
                        throw fail("declarations are not accepted inside elements")
                    } else {
                        element.children.append(try self.element(depth: depth + 1))
                    }
                } else {
                    let start = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                    text.append(contentsOf: try decodeEntities(bytes[start..<index]).utf8)
                }
            }
        }

        /// Replaces `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` `&#N;` `&#xH;` in `raw`.
        func decodeEntities(_ raw: ArraySlice<UInt8>) throws(AWSXMLError) -> String {
            guard raw.contains(UInt8(ascii: "&")) else { return String(decoding: raw, as: UTF8.self) }
            var out: [UInt8] = []
            out.reserveCapacity(raw.count)
            var position = raw.startIndex
            while position < raw.endIndex {
                let byte = raw[position]
                guard byte == UInt8(ascii: "&") else {
                    out.append(byte)
                    position += 1
                    continue
                }
                guard let semicolon = raw[position...].prefix(12).firstIndex(of: UInt8(ascii: ";")) else {
                    throw AWSXMLError(offset: position, reason: "unterminated entity reference")
                }
                let entity = String(decoding: raw[(position + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "amp": out.append(UInt8(ascii: "&"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    var scalarValue: UInt32?
                    if entity.hasPrefix("#x") || entity.hasPrefix("#X") {
                        scalarValue = UInt32(entity.dropFirst(2), radix: 16)
                    } else if entity.hasPrefix("#") {
                        scalarValue = UInt32(entity.dropFirst(), radix: 10)
                    }
                    guard let scalarValue, let scalar = Unicode.Scalar(scalarValue) else {
                        throw AWSXMLError(offset: position, reason: "unknown entity &\(entity);")
                    }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                }
                position = semicolon + 1
            }
            return String(decoding: out, as: UTF8.self)
        }
    }
}
