import Glibc
import Logging
import RolloutCore
import RolloutSystem
import Synchronization

/// Structured log lines on stderr: one compact JSON object per line with `ts`, `level`,
/// `msg`, `label` and the metadata. Values are whatever callers put in metadata, and callers
/// never put secret values or credentials there.
struct JSONLineLogHandler: LogHandler {
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level
    private let label: String
    private static let lock = Mutex(())

    init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var object: JSONObject = [
            "ts": .string(Timestamp.now()), "level": .string(event.level.rawValue), "label": .string(label),
            "msg": .string(event.message.description),
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) {
            object[key] = .string(value.description)
        }
        var line: [UInt8] = []
        JSONValue.object(object).write(to: &line)
        line.append(UInt8(ascii: "\n"))
        Self.lock.withLock { _ in
            line.withUnsafeBytes { try? FileDescriptor.standardError.write($0) }
        }
    }
}
