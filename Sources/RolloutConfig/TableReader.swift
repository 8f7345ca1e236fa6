import RolloutTOML

/// Reads the keys of one TOML table into a ``Configuration``, reporting wrong types, and, in
/// ``finish()``, every key or table it was not asked for.
///
/// A key that is absent leaves the target at its default; a key of the wrong type is
/// reported and also leaves the default, so that range validation afterwards does not report
/// the same key twice.
struct TableReader {
    /// Dotted path of this table, `""` for the document root.
    let path: String
    /// The table, or `nil` when it is absent or not a table (then every read is a no-op).
    private let table: TOMLTable?
    private let problems: ProblemList
    private var knownKeys: [String] = []
    private var knownTables: [String] = []

    init(root: TOMLTable, problems: ProblemList) {
        self.init(path: "", table: root, problems: problems)
    }

    private init(path: String, table: TOMLTable?, problems: ProblemList) {
        self.path = path
        self.table = table
        self.problems = problems
    }

    /// Whether the table is in the document (and is a table).
    var isPresent: Bool { table != nil }

    func dotted(_ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    /// The sub-table `[path.key]`; reading from it is a no-op when it is absent.
    mutating func table(_ key: String) -> TableReader {
        knownTables.append(key)
        let name = dotted(key)
        guard let value = table?[key] else {
            return TableReader(path: name, table: nil, problems: problems)
        }
        guard let subtable = value.table else {
            problems.add(name, "\(name) must be a table (got \(Self.describe(value)))")
            return TableReader(path: name, table: nil, problems: problems)
        }
        return TableReader(path: name, table: subtable, problems: problems)
    }

    mutating func read(_ key: String, into target: inout String) {
        if let string = typed(key, expecting: "a string", { $0.string }) { target = string }
    }

    mutating func read(_ key: String, into target: inout String?) {
        if let string = typed(key, expecting: "a string", { $0.string }) { target = string }
    }

    mutating func read(_ key: String, into target: inout Int) {
        if let int = typed(key, expecting: "an integer", { $0.int }) { target = int }
    }

    mutating func read(_ key: String, into target: inout Bool) {
        if let bool = typed(key, expecting: "a boolean (true or false)", { $0.bool }) { target = bool }
    }

    mutating func read(_ key: String, into target: inout [String]) {
        if let strings = typed(key, expecting: "an array of strings", { Self.elements(of: $0) { $0.string } }) {
            target = strings
        }
    }

    /// A string that must be one of the raw values of `Choice`.
    mutating func read<Choice: RawRepresentable & CaseIterable>(_ key: String, into target: inout Choice)
    where Choice.RawValue == String {
        guard let value = value(key) else { return }
        let allowed = Choice.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ")
        guard let string = value.string, let choice = Choice(rawValue: string) else {
            problems.add(
                dotted(key), "\(dotted(key)) must be one of \(allowed) (got \(Self.describe(value, bare: true)))")
            return
        }
        target = choice
    }

    /// A permission mode written as a string of octal digits (`"0600"`).
    mutating func readOctalMode(_ key: String, into target: inout UInt32) {
        guard let value = value(key) else { return }
        let name = dotted(key)
        guard let string = value.string, !string.isEmpty, string.allSatisfy({ ("0"..."7").contains($0) }) else {
            problems.add(name, "\(name) must be a string of octal digits like \"0600\" (got \(Self.describe(value)))")
            return
        }
        guard let mode = UInt32(string, radix: 8), mode <= Limits.socketMode.upperBound else {
            problems.add(name, Limits.socketModeOutOfRange(name, string))
            return
        }
        target = mode
    }

    /// An array of uids: integers in ``Limits/uid``.
    mutating func readUIDs(_ key: String, into target: inout [UInt32]) {
        let name = dotted(key)
        guard let ints = typed(key, expecting: "an array of integers", { Self.elements(of: $0) { $0.int } }) else {
            return
        }
        var uids: [UInt32] = []
        for (index, uid) in ints.enumerated() {
            guard Limits.uid.contains(uid) else {
                problems.outOfRange(name, "\(name)[\(index)]", uid, Limits.uid)
                continue
            }
            uids.append(UInt32(uid))
        }
        target = uids
    }

    /// Reports every entry of the table that no read asked for.
    func finish() {
        guard let table else { return }
        let scope = path.isEmpty ? "at the top level" : "in [\(path)]"
        for key in table.keys where !knownKeys.contains(key) && !knownTables.contains(key) {
            let name = dotted(key)
            if table[key]?.table != nil {
                let known =
                    knownTables.isEmpty
                    ? "[\(path)] has no tables; its keys are: \(knownKeys.joined(separator: ", "))"
                    : "known tables \(scope): \(knownTables.joined(separator: ", "))"
                problems.add(name, "unknown table [\(name)] (\(known))")
            } else {
                let tables = knownTables.map { "[\(dotted($0))]" }.joined(separator: ", ")
                let known =
                    knownKeys.isEmpty
                    ? "only tables are allowed \(scope): \(tables)"
                    : "known keys \(scope): \(knownKeys.joined(separator: ", "))"
                problems.add(name, "unknown key \"\(name)\" (\(known))")
            }
        }
    }

    // MARK: - Helpers

    private mutating func value(_ key: String) -> (TOMLValue)? {
        knownKeys.append(key)
        return table?[key]
    }

    /// The value at `key` converted by `convert`, or `nil` when the key is absent or the
    /// conversion fails (reported as a wrong type).
    private mutating func typed<Value>(
        _ key: String,
        expecting expected: String,
        _ convert: (TOMLValue) -> Value?
    ) -> Value? {
        guard let value = value(key) else { return nil }
        guard let converted = convert(value) else {
            problems.add(dotted(key), "\(dotted(key)) must be \(expected) (got \(Self.describe(value)))")
            return nil
        }
        return converted
    }

    /// The elements of an array, when `value` is an array and `convert` accepts every one.
    private static func elements<Element>(
        of value: TOMLValue,
        _ convert: (TOMLValue) -> Element?
    ) -> [Element]? {
        guard let array = value.array else { return nil }
        let elements = array.compactMap(convert)
        return elements.count == array.count ? elements : nil
    }

    /// `string "x"`, `integer 3`, `array [ 1, 'a' ]`, `table`, ...; with `bare`, a string is
    /// shown as just `"x"`.
    static func describe(_ value: TOMLValue, bare: Bool = false) -> String {
        switch value {
        case .string(let string):
            let quoted = "\"\(string)\""
            return bare ? quoted : "string \(quoted)"
        case .table:
            return "table"
        default:
            return "\(value.typeName) \(value.tomlText)"
        }
    }
}
