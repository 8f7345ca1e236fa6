/// Problems found in one file, collected while decoding and validating it.
///
/// A class so that the nested ``TableReader``s of one decode pass can all append to it.
/// Lives only for one call to the loader, on one thread.
final class ProblemList {
    let file: String
    private(set) var problems: [ConfigurationError.Problem] = []

    init(file: String) {
        self.file = file
    }

    func add(_ key: String?, _ message: String, line: Int? = nil) {
        problems.append(.init(file: file, key: key, line: line, message: message))
    }

    /// Whether a problem about `key` was already reported (a wrong type, say).
    func mentions(_ key: String) -> Bool {
        problems.contains { $0.key == key }
    }

    func add(contentsOf other: [ConfigurationError.Problem]) {
        problems.append(contentsOf: other)
    }

    func outOfRange<Value: BinaryInteger>(
        _ key: String,
        _ shown: String,
        _ value: Value,
        _ range: ClosedRange<Value>,
        unit: Unit = .none
    ) {
        let allowed = "\(range.lowerBound)...\(range.upperBound)\(unit.annotate(range))"
        add(key, "\(shown) = \(value) is out of range; allowed \(allowed)")
    }

    /// How to annotate the bounds of a range for people.
    enum Unit {
        case none
        case bytes
        case seconds

        func annotate<Value: BinaryInteger>(_ range: ClosedRange<Value>) -> String {
            switch self {
            case .none: ""
            case .bytes: " (\(Self.bytes(range.lowerBound))...\(Self.bytes(range.upperBound)))"
            case .seconds: range.upperBound >= 86_400 ? " (up to \(Self.days(range.upperBound)))" : ""
            }
        }

        private static func bytes<Value: BinaryInteger>(_ value: Value) -> String {
            for (size, name) in [(1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")]
            where value >= size && value % Value(size) == 0 {
                return "\(value / Value(size)) \(name)"
            }
            return value == 1 ? "1 byte" : "\(value) bytes"
        }

        private static func days<Value: BinaryInteger>(_ value: Value) -> String {
            let days = value / 86_400
            return days == 1 ? "1 day" : "\(days) days"
        }
    }
}
