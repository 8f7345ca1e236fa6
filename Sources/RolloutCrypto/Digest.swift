internal import CCrypto

/// A streaming message digest over OpenSSL's EVP interface (SHA-256, MD5 or SHA-1).
///
/// A `final class` owns the `EVP_MD_CTX` and frees it in `deinit`. Not thread-safe: one owner
/// feeds it, which is how every caller uses it (one per part, one per upload).
public final class Digest {
    /// The algorithms we use.
    public enum Algorithm: Sendable {
        /// SHA-256: payload hashes, `x-amz-checksum-sha256`, contentId, idempotency fingerprints.
        case sha256
        /// MD5: the `local` provider's etags, as S3 computes them for single-part uploads.
        case md5
        /// SHA-1: only to name files as the AWS CLI names them (the IAM Identity Center token
        /// cache), never for integrity or security.
        case sha1

        fileprivate var evp: OpaquePointer? {
            switch self {
            case .sha256: rollout_EVP_sha256()
            case .md5: rollout_EVP_md5()
            case .sha1: rollout_EVP_sha1()
            }
        }

        /// The digest length in bytes.
        public var byteCount: Int {
            switch self {
            case .sha256: 32
            case .md5: 16
            case .sha1: 20
            }
        }
    }

    private let context: OpaquePointer
    /// The algorithm this digest computes.
    public let algorithm: Algorithm

    /// Starts a digest.
    public init(_ algorithm: Algorithm) {
        CryptoLibrary.load()
        guard let context = rollout_EVP_MD_CTX_new(), rollout_EVP_DigestInit_ex(context, algorithm.evp, nil) == 1 else {
            fatalError("OpenSSL could not initialise a \(algorithm) digest")
        }
        self.context = context
        self.algorithm = algorithm
    }

    deinit {
        rollout_EVP_MD_CTX_free(context)
    }

    /// Feeds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        rollout_EVP_DigestUpdate(context, base, bytes.count)
    }

    /// Feeds bytes.
    public func update(_ bytes: some ContiguousBytes) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes and returns the digest; the object must not be fed again.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: algorithm.byteCount)
        var length: UInt32 = 0
        out.withUnsafeMutableBufferPointer { buffer in
            _ = rollout_EVP_DigestFinal_ex(context, buffer.baseAddress, &length)
        }
        return out
    }

    /// One-shot digest.
    public static func hash(_ algorithm: Algorithm, _ bytes: some ContiguousBytes) -> [UInt8] {
        let digest = Digest(algorithm)
        digest.update(bytes)
        return digest.finalize()
    }

    /// One-shot SHA-256.
    public static func sha256(_ bytes: some ContiguousBytes) -> [UInt8] {
        hash(.sha256, bytes)
    }

    /// One-shot SHA-256 of a string's UTF-8.
    public static func sha256(_ string: String) -> [UInt8] {
        sha256(Array(string.utf8))
    }
}

/// Types whose bytes can be borrowed contiguously (a tiny local stand-in for Foundation's).
public protocol ContiguousBytes {
    /// Calls `body` with the bytes.
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousBytes where Element == UInt8 {}
extension ArraySlice: ContiguousBytes where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousBytes {
    /// Calls `body` with itself.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}

/// HMAC-SHA256, as SigV4 key derivation and signing need it.
public enum HMAC {
    /// `HMAC-SHA256(key, message)`.
    public static func sha256(key: some ContiguousBytes, message: some ContiguousBytes) -> [UInt8] {
        CryptoLibrary.load()
        var out = [UInt8](repeating: 0, count: 32)
        var length: UInt32 = 32
        key.withUnsafeBytes { keyBytes in
            message.withUnsafeBytes { messageBytes in
                out.withUnsafeMutableBufferPointer { outBytes in
                    _ = rollout_HMAC(
                        rollout_EVP_sha256(), keyBytes.baseAddress, Int32(keyBytes.count),
                        messageBytes.baseAddress?.assumingMemoryBound(to: UInt8.self), messageBytes.count,
                        outBytes.baseAddress, &length
                    )
                }
            }
        }
        return out
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hex.
    public var hexString: String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(underestimatedCount * 2)
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// libcrypto, loaded on the first digest (CCrypto's `rollout_crypto_load`): a daemon that has not
/// hashed anything does not map it.
public enum CryptoLibrary {
    /// The load's outcome, decided once per process (a Swift `static let` is initialised once,
    /// thread-safely).
    private static let outcome: String? = {
        var error = [CChar](repeating: 0, count: 512)
        guard rollout_crypto_load(&error, error.count) != 0 else { return nil }
        return String(decoding: error.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()

    /// Loads libcrypto if it is not loaded yet. Without it no digest can be computed, so a
    /// failure (libcrypto.so.3 missing: install libssl3) stops the process with the loader's reason.
    public static func load() {
        if let problem = outcome { fatalError("rolloutd needs OpenSSL's libcrypto: \(problem)") }
    }
}
