/// Why and where a TOML document was rejected.
///
/// The message says what was wrong (`expected '=' after the key`, `duplicate key "a"`) and may
/// name a key, but never quotes a value: secrets files are parsed too.
public struct TOMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line of the problem.
    public var line: Int
    /// The 1-based column of the problem, counted in Unicode scalars (a byte-order mark at the
    /// start of the document is not counted).
    public var column: Int
    /// What was wrong.
    public var message: String

    /// Creates an error at `line` and `column`.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// The message alone (the position is in ``line`` and ``column``).
    public var description: String { message }
}
