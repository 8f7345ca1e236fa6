/// A port of what botocore gets from Python's `configparser.RawConfigParser` followed by
/// `botocore.configloader.raw_config_parse`, because botocore is the reference the shared
/// files must be read like (SPEC §2.1):
///
/// - `[name]` headers: the name is everything between the first `[` and the last `]` of the
///   line, kept as written. A `[DEFAULT]` section is not a section: its keys fill in every
///   other section that lacks them.
/// - `key = value` or `key: value`, split at the first `=` or `:`; keys are lower-cased, keys
///   and values trimmed. Nothing is an inline comment: `region = us-west-2 # x` has the value
///   `us-west-2 # x`.
/// - Lines starting with `#` or `;` (after indentation) are comments.
/// - A line indented deeper than the line that opened the current key continues that key's
///   value; blank lines inside are kept, trailing ones dropped. A value whose first line was
///   empty (`s3 =` then indented `k = v` lines) becomes a sub-section, one level deep.
/// - A repeated section or a repeated key within a section, a key line before any header, a
///   line without `=` or `:`, and a sub-section line without `=` are errors.
enum RawConfigParser {
    /// One section: its header name and its keys.
    typealias Section = (name: String, values: [String: SharedConfigValue])

    /// The sections of `text`, in the order they first appear, with `[DEFAULT]` folded in.
    static func parse(_ text: String) throws(SharedConfigParseError) -> [Section] {
        let defaultsName = "DEFAULT"
        var order: [String] = []
        var raw: [String: [String: [String]]] = [:]
        var seenOptions: Set<[String]> = []
        var section: String?
        var option: String?
        var indentLevel = 0

        for (index, line) in PythonText.fileLines(text).enumerated() {
            let number = index + 1
            let content = PythonText.strip(line)
            let first = content.unicodeScalars.first
            let isComment = first == "#" || first == ";"
            if content.isEmpty || isComment {
                if !isComment, let section, let option {
                    raw[section, default: [:]][option]?.append("")
                }
                continue
            }
            let indent = line.firstIndex(where: { !PythonText.isSpace($0) }) ?? 0
            if let section, let option, indent > indentLevel {
                raw[section, default: [:]][option]?.append(content)
                continue
            }
            indentLevel = indent
            if let name = headerName(content) {
                if name != defaultsName {
                    guard raw[name] == nil else {
                        throw SharedConfigParseError(line: number, reason: "section [\(name)] appears twice")
                    }
                    order.append(name)
                }
                if raw[name] == nil { raw[name] = [:] }
                section = name
                option = nil
                continue
            }
            guard let section else {
                throw SharedConfigParseError(line: number, reason: "a key comes before any [section] header")
            }
            let scalars = Array(content.unicodeScalars)
            guard let delimiter = scalars.firstIndex(where: { $0 == "=" || $0 == ":" }) else {
                throw SharedConfigParseError(
                    line: number, reason: "the line is neither a [section], a key = value pair nor a comment")
            }
            let name = PythonText.rightStrip(scalars[..<delimiter]).lowercased()
            guard !name.isEmpty else {
                throw SharedConfigParseError(line: number, reason: "a value has no key")
            }
            guard seenOptions.insert([section, name]).inserted else {
                throw SharedConfigParseError(line: number, reason: "key \(name) appears twice in section [\(section)]")
            }
            raw[section, default: [:]][name] = [PythonText.strip(scalars[(delimiter + 1)...])]
            option = name
        }

        let defaults = try values(raw[defaultsName] ?? [:])
        var sections: [Section] = []
        for name in order {
            let own = try values(raw[name] ?? [:])
            sections.append((name, own.merging(defaults) { ownValue, _ in ownValue }))
        }
        return sections
    }

    /// The name in a `[name]` header line, or nil when the line is not a header.
    private static func headerName(_ content: String) -> String? {
        let scalars = Array(content.unicodeScalars)
        guard scalars.first == "[", let close = scalars.lastIndex(of: "]"), close >= 2 else { return nil }
        return String(String.UnicodeScalarView(scalars[1..<close]))
    }

    /// Joins each key's lines and turns values that start with a line break into sub-sections.
    private static func values(_ options: [String: [String]]) throws(SharedConfigParseError) -> [String: SharedConfigValue] {
        var result: [String: SharedConfigValue] = [:]
        for (name, lines) in options {
            let joined = PythonText.rightStrip(lines.joined(separator: "\n").unicodeScalars)
            if joined.unicodeScalars.first == "\n" {
                result[name] = .subsection(try subsection(joined, of: name))
            } else {
                result[name] = .string(joined)
            }
        }
        return result
    }

    /// botocore's `_parse_nested`: one `k = v` per non-blank line, split at the first `=`.
    private static func subsection(_ text: String, of name: String) throws(SharedConfigParseError) -> [String: String] {
        var result: [String: String] = [:]
        for line in PythonText.splitLines(text) {
            let content = Array(PythonText.strip(line).unicodeScalars)
            if content.isEmpty { continue }
            guard let equals = content.firstIndex(of: "=") else {
                throw SharedConfigParseError(reason: "a line under \(name) = is not a key = value pair")
            }
            result[PythonText.strip(content[..<equals])] = PythonText.strip(content[(equals + 1)...])
        }
        return result
    }
}
