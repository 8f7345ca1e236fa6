/// Everything wrong with one configuration file, reported together so that one edit can fix
/// them all.
public struct ConfigurationError: Error, Sendable, Hashable, CustomStringConvertible {
    /// One thing wrong with the configuration.
    public struct Problem: Sendable, Hashable, CustomStringConvertible {
        /// The configuration file, as located or as passed to the loader.
        public var file: String
        /// The dotted key the problem is about (`server.max_request_bytes`,
        /// `cloud.aws.s3.multipart_chunk_bytes`); `nil` when it is about the whole file
        /// (unreadable, not valid TOML).
        public var key: String?
        /// The 1-based line, when known (syntax errors have one; problems with a key do not).
        public var line: Int?
        /// What is wrong, naming the key and what would be allowed; no file prefix.
        public var message: String

        /// Creates a problem.
        public init(file: String, key: String?, line: Int? = nil, message: String) {
            self.file = file
            self.key = key
            self.line = line
            self.message = message
        }

        /// `file: message`, or `file:line: message` when the line is known.
        public var description: String {
            if let line { return "\(file):\(line): \(message)" }
            return "\(file): \(message)"
        }
    }

    /// Every problem found: first those about the file's shape (syntax, unknown keys and
    /// tables, wrong types), then those about values (ranges, URLs, required keys), each group
    /// in the order of the keys in SPEC §2.
    public var problems: [Problem]

    /// Creates an error from the problems found.
    public init(problems: [Problem]) {
        self.problems = problems
    }

    /// One problem per line.
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
