import Glibc
import RolloutSystem
import RolloutTOML

/// Runs blocking work (files, Python, long parsing loops) on a dispatch thread, never on the
/// cooperative pool.
func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await BlockingIO(label: "toml-tests").run { (_: CancellationFlag) throws -> T in try body() }
}

/// The repository's `tests/toml`: the corpus and the tomllib helper.
let tomlTestsDirectory: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/RolloutTOMLTests/Tomllib.swift
    return parts.joined(separator: "/") + "/tests/toml"
}()

/// What Python's `tomllib` (through tests/toml/tomllib_oracle.py) says about documents.
/// Blocking: call from ``offPool(_:)``.
enum Tomllib {
    enum Verdict: Equatable {
        /// Valid, with the document in the canonical form of ``Canonical``.
        case valid(String)
        case invalid(String)
    }

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One Python process for all of `documents`, which go to it in a file (one line of hex
    /// each): ChildProcess gives the program /dev/null as standard input.
    ///
    /// A byte-order mark at the start is removed first: tomllib does not skip one (TOML
    /// parsers commonly do, and ours does).
    static func judge(_ documents: [String]) throws -> [Verdict] {
        let input = "/tmp/rollout-toml-oracle-\(getpid())-\(UInt64.random(in: 0...UInt64.max)).hex"
        var lines: [UInt8] = []
        for document in documents {
            let text = document.unicodeScalars.first == "\u{FEFF}" ? document.utf8.dropFirst(3) : document.utf8[...]
            lines.append(contentsOf: Canonical.hex(text).utf8)
            lines.append(UInt8(ascii: "\n"))
        }
        let file = try FileDescriptor(path: input, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
        defer { try? Directories.removeFile(input) }
        try lines.withUnsafeBytes { try file.write($0) }
        let outcome = try ChildProcess.run(
            ["python3", tomlTestsDirectory + "/tomllib_oracle.py", input], environment: ProcessEnvironment.variables(),
            timeout: .seconds(120), outputLimit: 1 << 28, cancellation: CancellationFlag())
        guard case .exited(status: 0, let output) = outcome else {
            throw Failure(description: "tomllib_oracle.py: \(outcome)")
        }
        let verdicts = output.split(separator: UInt8(ascii: "\n")).map { line -> Verdict in
            let text = String(decoding: line, as: UTF8.self)
            let valid = #"{"ok":true,"value":"#
            if text.hasPrefix(valid) {
                return .valid(String(text.dropFirst(valid.count).dropLast()))
            }
            return .invalid(text)
        }
        guard verdicts.count == documents.count else {
            throw Failure(description: "tomllib_oracle.py answered \(verdicts.count) of \(documents.count) documents")
        }
        return verdicts
    }

    /// Why tomllib rejects a valid document, or nil: Python's `datetime` has no year 0 and
    /// no leap second (:60), which TOML 1.0 allows.
    static func knownDeviation(_ table: TOMLTable) -> String? {
        for text in Canonical.dateTimes(in: .table(table)) {
            let hasDate = text.utf8.count >= 10 && text.utf8.dropFirst(4).first == UInt8(ascii: "-")
            if hasDate, text.hasPrefix("0000-") { return "year 0" }
            let time = hasDate ? text.dropFirst(11) : text[...]
            if time.dropFirst(6).hasPrefix("60") { return "a leap second" }
        }
        return nil
    }
}

/// The canonical form tomllib_oracle.py prints, written from our values.
enum Canonical {
    static func encode(_ value: TOMLValue) -> String {
        switch value {
        case .string(let string): return #"["string",""# + hex(string.utf8) + #""]"#
        case .integer(let integer): return #"["integer","\#(integer)"]"#
        case .float(let double):
            let bits = String(double.bitPattern, radix: 16)
            return #"["float",""# + String(repeating: "0", count: 16 - bits.count) + bits + #""]"#
        case .boolean(let bool): return #"["boolean","\#(bool)"]"#
        case .offsetDateTime(let text): return #"["datetime","\#(isoDateTime(text))"]"#
        case .localDateTime(let text): return #"["datetime-local","\#(isoDateTime(text))"]"#
        case .localDate(let text): return #"["date-local","\#(text)"]"#
        case .localTime(let text): return #"["time-local","\#(isoTime(text[...]))"]"#
        case .array(let elements): return #"["array",["# + elements.map(encode).joined(separator: ",") + "]]"
        case .table(let table):
            let entries = table.keys.map { (hex($0.utf8), encode(table[$0]!)) }.sorted { $0.0 < $1.0 }
            return #"["table",["# + entries.map { #"[""# + $0.0 + #"","# + $0.1 + "]" }.joined(separator: ",") + "]]"
        }
    }

    static func hex(_ bytes: some Sequence<UInt8>) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 15)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// Python's isoformat: `T`, microseconds (none when zero), offsets as `+HH:MM`.
    static func isoDateTime(_ text: String) -> String {
        let rest = text.dropFirst(11)
        let time = rest.prefix { $0 != "Z" && $0 != "z" && $0 != "+" && $0 != "-" }
        let offset = rest.dropFirst(time.count)
        let isUTC = offset == "Z" || offset == "z" || offset.dropFirst() == "00:00"
        return "\(text.prefix(10))T\(isoTime(time))\(isUTC ? "+00:00" : String(offset))"
    }

    static func isoTime(_ text: Substring) -> String {
        let whole = text.prefix(8)
        let fraction = text.dropFirst(9).prefix(6)
        guard fraction.contains(where: { $0 != "0" }) else { return String(whole) }
        return "\(whole).\(fraction)\(String(repeating: "0", count: 6 - fraction.count))"
    }

    /// The text of every date and time in `value`.
    static func dateTimes(in value: TOMLValue) -> [String] {
        switch value {
        case .offsetDateTime(let text), .localDateTime(let text), .localDate(let text), .localTime(let text): [text]
        case .array(let elements): elements.flatMap(dateTimes)
        case .table(let table): table.keys.flatMap { dateTimes(in: table[$0]!) }
        default: []
        }
    }
}

/// The documents under tests/toml/corpus/valid and .../invalid.
struct CorpusDocument: Sendable {
    var name: String
    var isValid: Bool
    var text: String

    /// Blocking: call from ``offPool(_:)``.
    static func loadAll() throws -> [CorpusDocument] {
        var documents: [CorpusDocument] = []
        for kind in ["valid", "invalid"] {
            let directory = tomlTestsDirectory + "/corpus/" + kind
            for name in try fileNames(in: directory) where name.hasSuffix(".toml") {
                let file = try FileDescriptor(path: directory + "/" + name, flags: O_RDONLY)
                let bytes = try file.readToEnd(maxBytes: 1 << 20) ?? []
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    throw Tomllib.Failure(description: "\(kind)/\(name) is not UTF-8")
                }
                documents.append(CorpusDocument(name: "\(kind)/\(name)", isValid: kind == "valid", text: text))
            }
        }
        return documents
    }

    private static func fileNames(in directory: String) throws -> [String] {
        guard let stream = opendir(directory) else { throw SystemError("open the directory", directory) }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if !name.hasPrefix(".") { names.append(name) }
        }
        return names.sorted()
    }
}
