/// The hard limits of SPEC §2 and the ranges every other numeric key must stay within.
enum Limits {
    static let kib = 1 << 10
    static let mib = 1 << 20
    static let gib = 1 << 30
    static let day = 86_400

    /// A Unix socket path (`sun_path`) must be shorter than this many bytes.
    static let socketPathBytes = 108
    static let socketMode: ClosedRange<UInt32> = 0...0o777
    /// `uid_t` values; `UInt32.max` is `(uid_t)-1`, which means "no uid".
    static let uid: ClosedRange<Int> = 0...Int(UInt32.max - 1)
    static let maxRequestBytes = 1 * kib...64 * mib
    static let maxInflightPerConnection = 1...4096
    /// Every entry of a batch runs at once, so the cap bounds the tasks one line can start.
    static let maxBatchItems = 1...10_000
    static let shutdownGraceSecs = 0...3600
    static let idempotencyTTLSecs = 1...30 * day
    static let slowRequestMs = 1...3_600_000

    static let maxAttempts = 1...10
    /// S3 parts are at least 5 MiB (except the last) and at most 5 GiB.
    static let multipartChunkBytes = 5 * mib...5 * gib
    static let maxSnapshotPartBytes = 1...10 * gib
    /// S3 allows at most this many parts in one multipart upload.
    static let maxPartsPerUpload = 10_000
    static let uploadConcurrency = 1...64
    /// SQS allows visibility timeouts up to 12 hours.
    static let visibilityTimeoutSecs = 0...43_200
    static let cacheTTLSecs = 0...day
    /// IMDSv2 tokens live at most six hours.
    static let tokenTTLSecs = 1...21_600
    static let alarmPollSecs = 1...3600
    /// SPEC §11: the owner renews every lease_secs / 3, so 5 s leaves it more than a second.
    static let leaseSecs = 5...300
    /// DynamoDB table names are 3 to 255 characters of `[a-zA-Z0-9_.-]`.
    static let tableNameLength = 3...255

    static func socketModeOutOfRange(_ key: String, _ digits: String) -> String {
        "\(key) = \"\(digits)\" is out of range; allowed \"0000\"...\"0777\""
    }

    /// `mode` as four octal digits, the way `socket_mode` is written.
    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
