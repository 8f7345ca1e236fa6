/// Computes `contentId` (SPEC §4.2): lowercase hex SHA-256 over the concatenation of the raw
/// 32-byte SHA-256 digests of each consecutive `chunkBytes` slice of the object. An empty
/// object is one empty chunk.
///
/// Feed it the per-chunk digests in order (the uploader already hashes each part before it
/// sends it), or whole bytes through ``ContentIDHasher``.
public struct ContentID: Sendable {
    private var chunkDigests: [UInt8] = []
    private var chunks = 0

    /// An empty accumulator.
    public init() {}

    /// Appends the SHA-256 digest of the next chunk.
    public mutating func append(chunkDigest: [UInt8]) {
        precondition(chunkDigest.count == 32, "a chunk digest is 32 bytes")
        chunkDigests.append(contentsOf: chunkDigest)
        chunks += 1
    }

    /// The content id, hex.
    public func finalize() -> String {
        if chunks == 0 {
            return Digest.sha256(Digest.sha256([UInt8]())).hexString
        }
        return Digest.sha256(chunkDigests).hexString
    }
}

/// Streams bytes, cuts them into `chunkBytes` chunks and accumulates their digests into a
/// ``ContentID``. Also keeps an MD5 of the whole stream when asked (the `local` etag).
public final class ContentIDHasher {
    private let chunkBytes: Int
    private var chunk = Digest(.sha256)
    private var inChunk = 0
    private var contentID = ContentID()
    private let md5: Digest?
    /// Bytes fed so far.
    public private(set) var byteCount: Int64 = 0

    /// Creates a hasher for a chunk size; `withMD5` also computes the MD5 of the whole input.
    public init(chunkBytes: Int, withMD5: Bool = false) {
        precondition(chunkBytes > 0)
        self.chunkBytes = chunkBytes
        self.md5 = withMD5 ? Digest(.md5) : nil
    }

    /// Feeds the next bytes of the object.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        md5?.update(bytes)
        byteCount += Int64(bytes.count)
        var offset = 0
        while offset < bytes.count {
            let take = min(chunkBytes - inChunk, bytes.count - offset)
            chunk.update(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + take)]))
            inChunk += take
            offset += take
            if inChunk == chunkBytes {
                contentID.append(chunkDigest: chunk.finalize())
                chunk = Digest(.sha256)
                inChunk = 0
            }
        }
    }

    /// Finishes; returns the content id and, when requested, the hex MD5.
    public func finalize() -> (contentId: String, md5: String?) {
        if inChunk > 0 || byteCount == 0 {
            contentID.append(chunkDigest: chunk.finalize())
        }
        return (contentID.finalize(), md5?.finalize().hexString)
    }
}
