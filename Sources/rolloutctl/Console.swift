import ArgumentParser
import Foundation
import RolloutConfig
import RolloutCore
import RolloutSystem

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// stdout or stderr, written with `write(2)` directly (no buffering to flush before `exit`).
struct StandardStream: Sendable {
    /// The descriptor written to (borrowed: never closed).
    let file: FileDescriptor

    /// File descriptor 1.
    static let output = StandardStream(file: .standardOutput)
    /// File descriptor 2.
    static let error = StandardStream(file: .standardError)

    /// Whether the stream is a terminal.
    var isTerminal: Bool { isatty(file.rawValue) == 1 }

    /// Writes all of `text` (UTF-8).
    func write(_ text: String) {
        write(bytes: Array(text.utf8))
    }

    /// Writes all of `bytes`, retrying after interrupted and partial writes; a failed write
    /// (a closed pipe) drops the rest.
    func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            try? file.write(buffer)
        }
    }
}

/// Prints results and errors in the form SPEC §7 asks for: exactly one JSON document on stdout
/// with `--json`, human text otherwise (ANSI styling only when stdout is a terminal).
struct Console: Sendable {
    /// `--json`.
    let json: Bool
    /// Whether human output may use ANSI styles: stdout is a terminal and `NO_COLOR` is unset.
    let styled: Bool
    /// Whether progress bars may be drawn: stderr is a terminal and `--no-progress` was not given.
    let progressBars: Bool
    /// Whether stdout may carry a view redrawn in place: human output to a terminal that is not
    /// `dumb`, without `--no-progress`.
    let live: Bool

    init(json: Bool, progress: Bool = true) {
        self.json = json
        let environment = ProcessInfo.processInfo.environment
        self.styled = StandardStream.output.isTerminal && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
        self.progressBars = progress && StandardStream.error.isTerminal
        self.live = progress && !json && StandardStream.output.isTerminal && environment["TERM"] != "dumb"
    }

    /// Prints `result` as JSON with `--json`, else the text `human` makes of it (nothing when
    /// that is empty).
    func emit(_ result: JSONValue, human: () -> String) {
        if json {
            printJSON(result)
        } else {
            let text = human()
            if !text.isEmpty { print(text) }
        }
    }

    /// Prints one compact JSON document and a newline on stdout.
    func printJSON(_ value: JSONValue) {
        var bytes = value.serialized()
        bytes.append(UInt8(ascii: "\n"))
        StandardStream.output.write(bytes: bytes)
    }

    /// Prints `text` on stdout, newline-terminated.
    func print(_ text: String) {
        StandardStream.output.write(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// Prints `text` on stderr, newline-terminated.
    func note(_ text: String) {
        StandardStream.error.write(text.hasSuffix("\n") ? text : text + "\n")
    }

    /// `text` in bold when styling is on.
    func bold(_ text: String) -> String {
        styled ? "\u{1B}[1m\(text)\u{1B}[0m" : text
    }

    /// Reports a failed command and returns the exit status it calls for.
    ///
    /// stderr gets `rolloutctl: <Reason>: <message>` followed by the error's `data` members;
    /// with `--json`, stdout also gets `{"error": {"code", "message", "data"}}`.
    func report(_ error: any Error) -> ExitStatus {
        switch error {
        case let error as RolloutError:
            return report(error, details: error.data.map { "\($0.key): \(HumanText.scalar($0.value))" })
        case let error as ConfigurationError:
            return report(Self.rolloutError(error), details: error.problems.map(\.description))
        case let error as ValidationError:
            note("rolloutctl: \(error.message)")
            return .usage
        default:
            return report(RolloutError(.internalError, "\(error)"), details: [])
        }
    }

    /// Prints `error` (stderr, and stdout with `--json`) with `details` as indented lines.
    func report(_ error: RolloutError, details: [String]) -> ExitStatus {
        var text = "rolloutctl: \(error.code.reason): \(error.message)\n"
        for line in details {
            text += "  \(line)\n"
        }
        note(text)
        if json {
            printJSON(Self.errorDocument(error))
        }
        return error.code.kind == .recoverable ? .recoverable : .fatal
    }

    /// `{"error": {"code", "message", "data"}}`, `data` carrying `kind` and `reason` as on the wire.
    static func errorDocument(_ error: RolloutError) -> JSONValue {
        [
            "error": [
                "code": .number(JSONNumber(error.code.rawValue)),
                "message": .string(error.message),
                "data": .object(error.wireData),
            ],
        ]
    }

    /// A configuration that does not load, as a `ConfigInvalid` error whose `data.problems`
    /// lists each problem with its file, key and line.
    static func rolloutError(_ error: ConfigurationError) -> RolloutError {
        let problems: [JSONValue] = error.problems.map { problem in
            var object: JSONObject = ["file": .string(problem.file)]
            object["key"] = problem.key.map(JSONValue.string)
            object["line"] = problem.line.map { .number(JSONNumber($0)) }
            object["message"] = .string(problem.message)
            return .object(object)
        }
        let files = Set(error.problems.map(\.file)).sorted().joined(separator: ", ")
        let count = error.problems.count
        return RolloutError(
            .configInvalid, "invalid configuration \(files): \(count) problem\(count == 1 ? "" : "s")",
            data: ["problems": .array(problems)])
    }
}
