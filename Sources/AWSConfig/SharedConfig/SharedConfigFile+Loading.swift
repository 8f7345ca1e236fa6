extension SharedConfigFile {
    /// The config file botocore reads: `$AWS_CONFIG_FILE`, else `~/.aws/config`, with `$VAR`,
    /// `${VAR}` and a leading `~` expanded from `environment` (`~` is `$HOME`).
    public static func configFilePath(environment: [String: String]) -> String {
        expand(environment["AWS_CONFIG_FILE"] ?? "~/.aws/config", environment)
    }

    /// The credentials file botocore reads: `$AWS_SHARED_CREDENTIALS_FILE`, else
    /// `~/.aws/credentials`, expanded like ``configFilePath(environment:)``.
    public static func credentialsFilePath(environment: [String: String]) -> String {
        expand(environment["AWS_SHARED_CREDENTIALS_FILE"] ?? "~/.aws/credentials", environment)
    }

    /// Reads and parses the config file and the credentials file named by `environment`, and
    /// merges them (``merging(credentials:)``): what botocore resolves profiles from. A file
    /// that is missing or unreadable counts as empty, as in botocore. Blocks on file reads:
    /// call it at startup or off the cooperative pool.
    public static func load(environment: [String: String]) throws(SharedConfigParseError) -> SharedConfigFile {
        try load(environment: environment, readFile: RegularFile.contents(atPath:))
    }

    /// Like ``load(environment:)`` with `readFile` in place of the file system: it returns a
    /// file's bytes, or nil when there is no readable regular file at the path.
    public static func load(
        environment: [String: String],
        readFile: (String) -> [UInt8]?
    ) throws(SharedConfigParseError) -> SharedConfigFile {
        let config = try read(.config, environment: environment, readFile: readFile)
        return config.merging(credentials: try read(.credentials, environment: environment, readFile: readFile))
    }

    /// Reads and parses one of the two files, unmerged (botocore's credential chain reads the
    /// credentials file and the config file as separate steps). Blocks like ``load(environment:)``.
    public static func read(_ kind: Kind, environment: [String: String]) throws(SharedConfigParseError) -> SharedConfigFile {
        try read(kind, environment: environment, readFile: RegularFile.contents(atPath:))
    }

    /// Like ``read(_:environment:)`` with `readFile` in place of the file system.
    public static func read(
        _ kind: Kind,
        environment: [String: String],
        readFile: (String) -> [UInt8]?
    ) throws(SharedConfigParseError) -> SharedConfigFile {
        let path = switch kind {
        case .config: configFilePath(environment: environment)
        case .credentials: credentialsFilePath(environment: environment)
        }
        guard let bytes = readFile(path) else { return SharedConfigFile() }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw SharedConfigParseError(path: path, reason: "the file is not valid UTF-8")
        }
        return try SharedConfigFile(parsing: text, kind: kind, path: path)
    }

    /// Python's `os.path.expandvars` then `os.path.expanduser`, as botocore applies them.
    private static func expand(_ path: String, _ environment: [String: String]) -> String {
        var scalars = Array(path.unicodeScalars)
        var index = 0
        while index < scalars.count {
            guard scalars[index] == "$", let (name, end) = variable(in: scalars, after: index) else {
                index += 1
                continue
            }
            guard let value = environment[name] else {
                index = end
                continue
            }
            scalars.replaceSubrange(index..<end, with: value.unicodeScalars)
            index += value.unicodeScalars.count
        }
        var expanded = String(String.UnicodeScalarView(scalars))
        if expanded == "~" || expanded.hasPrefix("~/"), let home = environment["HOME"] {
            var base = Substring(home)
            while base.hasSuffix("/") { base = base.dropLast() }
            expanded = String(base) + expanded.dropFirst()
            if expanded.isEmpty { expanded = "/" }
        }
        return expanded
    }

    /// The variable named after a `$` at `dollar`: `\w+` (ASCII) or `{...}`; with the index
    /// just past it.
    private static func variable(in scalars: [Unicode.Scalar], after dollar: Int) -> (String, Int)? {
        let start = dollar + 1
        guard start < scalars.count else { return nil }
        if scalars[start] == "{" {
            guard let close = scalars[start...].firstIndex(of: "}") else { return nil }
            return (String(String.UnicodeScalarView(scalars[(start + 1)..<close])), close + 1)
        }
        let isWord = { (scalar: Unicode.Scalar) in
            scalar.isASCII && (scalar == "_" || scalar.properties.isAlphabetic || ("0"..."9").contains(scalar))
        }
        let end = scalars[start...].firstIndex(where: { !isWord($0) }) ?? scalars.count
        guard end > start else { return nil }
        return (String(String.UnicodeScalarView(scalars[start..<end])), end)
    }
}
