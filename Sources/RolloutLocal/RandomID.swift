import RolloutCrypto

/// Random identifiers for blobs, temp files, message ids and receipts: 128 bits from the
/// system's CSPRNG, as 32 lowercase hex digits.
enum RandomID {
    /// A new identifier.
    static func make() -> String {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return bytes.hexString
    }
}
