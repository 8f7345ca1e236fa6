import RolloutCrypto
import Testing

@Suite("Digests over libcrypto")
struct DigestTests {
    @Test("SHA-256 and MD5 match the published test vectors")
    func knownVectors() {
        #expect(Digest.sha256([UInt8]()).hexString == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(Digest.sha256("abc").hexString == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(Digest.hash(.md5, Array("abc".utf8)).hexString == "900150983cd24fb0d6963f7d28e17f72")
    }

    @Test("HMAC-SHA256 matches RFC 4231 test case 2")
    func hmac() {
        let mac = HMAC.sha256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(mac.hexString == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test("contentId is SHA-256 over the concatenated chunk digests", arguments: [1, 3, 4, 5, 1000])
    func contentID(chunkBytes: Int) {
        let bytes = (0..<4000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        var expected = ContentID()
        var offset = 0
        while offset < bytes.count {
            let end = min(offset + chunkBytes, bytes.count)
            expected.append(chunkDigest: Digest.sha256(Array(bytes[offset..<end])))
            offset = end
        }
        // Feed in awkward pieces so chunk boundaries fall inside updates.
        let hasher = ContentIDHasher(chunkBytes: chunkBytes, withMD5: true)
        var position = 0
        for piece in [1, 2, 997, 3, 2000, 997] {
            let end = min(position + piece, bytes.count)
            bytes[position..<end].withUnsafeBytes { hasher.update($0) }
            position = end
        }
        let (contentId, md5) = hasher.finalize()
        #expect(contentId == expected.finalize())
        #expect(md5 == Digest.hash(.md5, bytes).hexString)
    }

    @Test("an empty object is one empty chunk")
    func emptyContentID() {
        let hasher = ContentIDHasher(chunkBytes: 8)
        let emptyChunk = Digest.sha256([UInt8]())
        #expect(hasher.finalize().contentId == Digest.sha256(emptyChunk).hexString)
        #expect(ContentID().finalize() == Digest.sha256(emptyChunk).hexString)
    }
}
