/// A very small XML reader for AWS Query-protocol responses (STS): it builds a tree of
/// elements with their text and finds elements by path. No DTDs, no namespaces (a `ns:`
/// prefix is dropped), attributes skipped; the five predefined entities, numeric character
/// references and CDATA sections are decoded. Anything malformed yields nil.
struct XMLElementExtractor {
    /// One element: its local name, its own text (all text children concatenated) and its
    /// child elements in document order.
    struct Element {
        var name: String
        var text: String
        var children: [Element]

        /// The first child element named `name`.
        func child(_ name: String) -> Element? {
            children.first { $0.name == name }
        }

        /// The element reached by following `path` from this one, first match at each step.
        func element(at path: [String]) -> Element? {
            var current = self
            for name in path {
                guard let next = current.child(name) else { return nil }
                current = next
            }
            return current
        }

        /// The text of the element at `path`, or nil when there is no such element.
        func text(at path: [String]) -> String? {
            element(at: path)?.text
        }
    }

    /// The deepest nesting accepted.
    static let maxDepth = 64

    /// Parses `bytes` into its root element.
    static func parse(_ bytes: [UInt8]) -> Element? {
        var parser = Parser(bytes: bytes)
        return parser.parseDocument()
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        init(bytes: [UInt8]) {
            self.bytes = bytes
        }

        mutating func parseDocument() -> Element? {
            var stack: [(name: String, text: [UInt8], children: [Element])] = []
            var root: Element?
            while index < bytes.count {
                if bytes[index] != UInt8(ascii: "<") {
                    let start = index
                    while index < bytes.count, bytes[index] != UInt8(ascii: "<") { index += 1 }
                    if stack.isEmpty {
                        // Only whitespace may surround the root element.
                        guard bytes[start..<index].allSatisfy(Self.isWhitespace) else { return nil }
                    } else {
                        guard let decoded = Self.decodeEntities(bytes[start..<index]) else { return nil }
                        stack[stack.count - 1].text.append(contentsOf: decoded)
                    }
                    continue
                }
                if startsWith("<?") {
                    guard skip(past: "?>") else { return nil }
                } else if startsWith("<!--") {
                    guard skip(past: "-->") else { return nil }
                } else if startsWith("<![CDATA[") {
                    guard !stack.isEmpty else { return nil }
                    index += 9
                    let start = index
                    guard skip(past: "]]>") else { return nil }
                    stack[stack.count - 1].text.append(contentsOf: bytes[start..<(index - 3)])
                } else if startsWith("<!") {
                    guard stack.isEmpty, skip(past: ">") else { return nil }
                } else if startsWith("</") {
                    index += 2
                    guard let name = readName(), let open = stack.popLast(), open.name == name else { return nil }
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: ">") else { return nil }
                    index += 1
                    let element = Element(name: open.name, text: String(decoding: open.text, as: UTF8.self), children: open.children)
                    if stack.isEmpty {
                        guard root == nil else { return nil }
                        root = element
                    } else {
                        stack[stack.count - 1].children.append(element)
                    }
                } else {
                    index += 1
                    guard root == nil, let name = readName(), let selfClosing = skipAttributes() else { return nil }
                    if selfClosing {
                        let element = Element(name: name, text: "", children: [])
                        if stack.isEmpty { root = element } else { stack[stack.count - 1].children.append(element) }
                    } else {
                        guard stack.count < XMLElementExtractor.maxDepth else { return nil }
                        stack.append((name, [], []))
                    }
                }
            }
            return stack.isEmpty ? root : nil
        }

        private func startsWith(_ text: StaticString) -> Bool {
            let count = text.utf8CodeUnitCount
            guard index + count <= bytes.count else { return false }
            return text.withUTF8Buffer { prefix in
                prefix.elementsEqual(bytes[index..<(index + count)])
            }
        }

        /// Moves past the next occurrence of `terminator`; false when there is none.
        private mutating func skip(past terminator: StaticString) -> Bool {
            while index < bytes.count {
                if startsWith(terminator) {
                    index += terminator.utf8CodeUnitCount
                    return true
                }
                index += 1
            }
            return false
        }

        private mutating func skipWhitespace() {
            while index < bytes.count, Self.isWhitespace(bytes[index]) { index += 1 }
        }

        /// A tag name, with any namespace prefix dropped.
        private mutating func readName() -> String? {
            let start = index
            while index < bytes.count, !Self.isWhitespace(bytes[index]),
                  bytes[index] != UInt8(ascii: ">"), bytes[index] != UInt8(ascii: "/")
            {
                index += 1
            }
            guard index > start else { return nil }
            var name = bytes[start..<index]
            if let colon = name.lastIndex(of: UInt8(ascii: ":")) { name = name[(colon + 1)...] }
            guard !name.isEmpty else { return nil }
            return String(decoding: name, as: UTF8.self)
        }

        /// Skips the attributes of a start tag and its `>`; returns whether it was `/>`.
        private mutating func skipAttributes() -> Bool? {
            var quote: UInt8?
            while index < bytes.count {
                let byte = bytes[index]
                index += 1
                if let open = quote {
                    if byte == open { quote = nil }
                } else if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "'") {
                    quote = byte
                } else if byte == UInt8(ascii: ">") {
                    return index >= 2 && bytes[index - 2] == UInt8(ascii: "/")
                }
            }
            return nil
        }

        static func isWhitespace(_ byte: UInt8) -> Bool {
            byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D
        }

        /// Replaces `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&apos;`, `&#N;` and `&#xH;`.
        static func decodeEntities(_ text: ArraySlice<UInt8>) -> [UInt8]? {
            guard text.contains(UInt8(ascii: "&")) else { return Array(text) }
            var out: [UInt8] = []
            out.reserveCapacity(text.count)
            var index = text.startIndex
            while index < text.endIndex {
                guard text[index] == UInt8(ascii: "&") else {
                    out.append(text[index])
                    index += 1
                    continue
                }
                guard let semicolon = text[index...].firstIndex(of: UInt8(ascii: ";")), semicolon - index <= 12 else {
                    return nil
                }
                let entity = String(decoding: text[(index + 1)..<semicolon], as: UTF8.self)
                switch entity {
                case "amp": out.append(UInt8(ascii: "&"))
                case "lt": out.append(UInt8(ascii: "<"))
                case "gt": out.append(UInt8(ascii: ">"))
                case "quot": out.append(UInt8(ascii: "\""))
                case "apos": out.append(UInt8(ascii: "'"))
                default:
                    guard entity.hasPrefix("#") else { return nil }
                    let digits = entity.dropFirst()
                    let value = digits.hasPrefix("x") || digits.hasPrefix("X")
                        ? UInt32(digits.dropFirst(), radix: 16) : UInt32(digits, radix: 10)
                    guard let value, let scalar = Unicode.Scalar(value) else { return nil }
                    out.append(contentsOf: String(Character(scalar)).utf8)
                }
                index = semicolon + 1
            }
            return out
        }
    }
}
