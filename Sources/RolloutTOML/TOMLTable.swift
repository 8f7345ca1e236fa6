/// A TOML table: keys in document order, each with its value.
///
/// Keys are compared as exact UTF-8 bytes, never with `String`'s `==` (which treats canonically
/// equivalent strings as equal: "\u{212A}" KELVIN SIGN == "K"). A document may define both
/// `"K"` and `"\u{212A}"`, and looking up one never finds the other; allowlists of secret
/// names rely on that.
public struct TOMLTable: Sendable, Equatable {
    /// The keys, in the order the document defines them.
    public private(set) var keys: [String]
    private var values: [TOMLValue]
    /// Position of each key in `keys` and `values`.
    private var index: [Key: Int]

    init(keys: [String], values: [TOMLValue], index: [Key: Int]) {
        self.keys = keys
        self.values = values
        self.index = index
    }

    /// The value of `key` (compared byte for byte), or `nil` when the table does not define it.
    public subscript(key: String) -> TOMLValue? {
        index[Key(key)].map { values[$0] }
    }

    /// The number of keys.
    public var count: Int { keys.count }

    /// Whether both define the same keys (byte for byte, in any order) with equal values.
    public static func == (lhs: TOMLTable, rhs: TOMLTable) -> Bool {
        guard lhs.count == rhs.count else { return false }
        for (key, position) in lhs.index {
            guard let other = rhs.index[key], lhs.values[position] == rhs.values[other] else { return false }
        }
        return true
    }

    /// The keys with their values, in document order.
    var entries: Zip2Sequence<[String], [TOMLValue]> { zip(keys, values) }
}

/// A table key that hashes and compares its UTF-8 bytes, not its characters.
struct Key: Hashable, Sendable {
    let string: String

    init(_ string: String) {
        self.string = string
    }

    static func == (lhs: Key, rhs: Key) -> Bool {
        lhs.string.utf8.count == rhs.string.utf8.count && lhs.string.utf8.elementsEqual(rhs.string.utf8)
    }

    func hash(into hasher: inout Hasher) {
        var string = string
        string.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
