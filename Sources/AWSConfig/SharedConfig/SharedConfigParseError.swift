/// A shared config or credentials file that botocore would refuse to load
/// (`botocore.exceptions.ConfigParseError`).
///
/// The message names the file and line but never repeats the line's text: credentials files
/// hold secret keys.
public struct SharedConfigParseError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file, when the text came from one.
    public var path: String?
    /// The 1-based line the problem was found on, when there is one.
    public var line: Int?
    /// What is wrong, without the line's content.
    public var reason: String

    /// Creates an error.
    public init(path: String? = nil, line: Int? = nil, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    /// `"<path>:<line>: <reason>"`, leaving out what is unknown.
    public var description: String {
        var location = path ?? "shared config"
        if let line { location += ":\(line)" }
        return "\(location): \(reason)"
    }
}
