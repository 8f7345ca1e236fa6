import Glibc

/// The process's environment variables and identity, read with plain libc calls.
public enum ProcessEnvironment {
    /// The environment variables (`environ`), name to value; an entry without `=` is skipped
    /// and, for a name given twice, the first entry wins (as `getenv` finds it).
    public static func variables() -> [String: String] {
        var entries: [String] = []
        var entry: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        while let pointer = entry?.pointee {
            entries.append(String(cString: pointer))
            entry = entry?.advanced(by: 1)
        }
        return variables(from: entries)
    }

    /// The variables of `NAME=value` entries, as ``variables()`` reads them.
    static func variables(from entries: [String]) -> [String: String] {
        var variables: [String: String] = [:]
        for text in entries {
            if let equals = text.firstIndex(of: "="), variables[String(text[..<equals])] == nil {
                variables[String(text[..<equals])] = String(text[text.index(after: equals)...])
            }
        }
        return variables
    }

    /// The host name (`gethostname`), or `localhost` when it cannot be read.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This process's id.
    public static var processID: Int32 {
        getpid()
    }
}
