/// A string that is equal to another, and hashes, by its UTF-8 bytes alone.
///
/// Swift's `String` equality, hashing and `hasPrefix` are Unicode canonical equivalence:
/// `"prod/API_\u{212A}EY"` (KELVIN SIGN) `==` `"prod/API_KEY"`, and `"e\u{301}"` `==` `"\u{E9}"`.
/// That is right for text shown to people and wrong for security decisions: an allowlist,
/// a key or a name that another system (AWS, the file system) compares as bytes. Use this
/// type for those, as a `Set` element or a `Dictionary` key, so no normalisation or case
/// folding can make two different names match.
public struct ByteExactString: Sendable, Hashable, CustomStringConvertible {
    /// The string itself, unchanged.
    public let string: String

    /// Wraps `string`.
    public init(_ string: String) {
        self.string = string
    }

    /// Whether `lhs` and `rhs` have the same UTF-8 bytes.
    public static func == (lhs: ByteExactString, rhs: ByteExactString) -> Bool {
        lhs.string.utf8.count == rhs.string.utf8.count && lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    /// Hashes the UTF-8 bytes (and their count).
    public func hash(into hasher: inout Hasher) {
        var string = string
        string.withUTF8 { bytes in
            hasher.combine(bytes.count)
            hasher.combine(bytes: UnsafeRawBufferPointer(bytes))
        }
    }

    /// The string.
    public var description: String { string }

    /// The string as a quoted literal in which everything outside printable ASCII is written
    /// as `\u{XXXX}`, so a name that only looks like another (a KELVIN SIGN for a `K`, a
    /// combining accent, a trailing space) reads differently in a message.
    public var escapedDescription: String {
        var text = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case " "..."~": text.unicodeScalars.append(scalar)
            default: text += "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
        }
        return text + "\""
    }
}
