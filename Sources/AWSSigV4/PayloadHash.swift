internal import RolloutCrypto

/// The payload line of the canonical request (and, for S3, the `x-amz-content-sha256` value).
///
/// A struct with static members rather than an enum, so the streaming variants
/// (`STREAMING-AWS4-HMAC-SHA256-PAYLOAD`, …) can join without breaking callers.
public struct PayloadHash: Sendable, Hashable {
    /// The exact text signed: a lowercase hex SHA-256 or a sentinel such as `UNSIGNED-PAYLOAD`.
    public let value: String

    private init(value: String) {
        self.value = value
    }

    /// A body whose SHA-256 the caller computed, as lowercase hex.
    public static func sha256(hex: String) -> PayloadHash {
        PayloadHash(value: hex)
    }

    /// Hashes a body held in memory.
    public static func sha256(of body: [UInt8]) -> PayloadHash {
        body.isEmpty ? .emptyBody : PayloadHash(value: Digest.sha256(body).hexString)
    }

    /// `UNSIGNED-PAYLOAD`: the body is not covered by the signature. S3 only, and only over TLS.
    public static let unsigned = PayloadHash(value: "UNSIGNED-PAYLOAD")

    /// `STREAMING-UNSIGNED-PAYLOAD-TRAILER`: an `aws-chunked` body, not covered by the
    /// signature, that ends in a trailer carrying its checksum (`x-amz-trailer`). S3 only;
    /// over TLS (or to a loopback endpoint).
    public static let unsignedPayloadTrailer = PayloadHash(value: "STREAMING-UNSIGNED-PAYLOAD-TRAILER")

    /// The SHA-256 of the empty body.
    public static let emptyBody = PayloadHash(value: "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
}
