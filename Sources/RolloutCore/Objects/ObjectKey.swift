/// Validation of object keys (SPEC §4.2): 1–1024 bytes of UTF-8 without control characters,
/// without a leading `/`, and without `.` or `..` segments.
public enum ObjectKey {
    /// The longest key in UTF-8 bytes.
    public static let maxBytes = 1024

    /// Throws -32602 naming `field` when `key` is not a valid object key.
    public static func validate(_ key: String, field: String = "key") throws(RolloutError) {
        let bytes = key.utf8.count
        guard bytes >= 1, bytes <= maxBytes else {
            throw .invalidParams("param '\(field)' must be 1–\(maxBytes) bytes of UTF-8 (got \(bytes))")
        }
        if key.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || (0x80...0x9F).contains($0.value) }) {
            throw .invalidParams("param '\(field)' must not contain control characters")
        }
        if key.hasPrefix("/") {
            throw .invalidParams("param '\(field)' must not start with '/'")
        }
        if key.split(separator: "/", omittingEmptySubsequences: false).contains(where: { $0 == "." || $0 == ".." }) {
            throw .invalidParams("param '\(field)' must not contain '.' or '..' segments")
        }
    }

    /// Validates a listing prefix: the same rules, except that it may be empty.
    public static func validatePrefix(_ prefix: String, field: String = "prefix") throws(RolloutError) {
        guard !prefix.isEmpty else { return }
        try validate(prefix, field: field)
    }
}
