import RolloutCore
import Testing

@Suite("base64")
struct Base64Tests {
    @Test("encodes RFC 4648's vectors and decodes them back")
    func vectors() {
        let vectors = ["": "", "f": "Zg==", "fo": "Zm8=", "foo": "Zm9v", "foob": "Zm9vYg==", "fooba": "Zm9vYmE=", "foobar": "Zm9vYmFy"]
        for (plain, encoded) in vectors {
            #expect(Base64.encode(Array(plain.utf8)) == encoded)
            #expect(Base64.decode(encoded) == Array(plain.utf8))
        }
        let bytes = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7919) }
        for count in 0..<70 {
            #expect(Base64.decode(Base64.encode(bytes.prefix(count))) == Array(bytes.prefix(count)))
        }
    }

    @Test("decoding refuses what Foundation's Data(base64Encoded:) refuses")
    func strict() {
        for text in ["aGVsbG8", "aGVsbA=", "aGVsbA", "a===", "aGVs bG8=", "aGVsbG8=aGVs", "aGVs\nbG8=", "-_8="] {
            #expect(Base64.decode(text) == nil, "\(text.debugDescription)")
        }
        // Foundation accepts these (a third '=', padding alone); RFC 4648 does not.
        #expect(Base64.decode("aGVsbG8==") == nil)
        #expect(Base64.decode("====") == nil)
        // Left-over bits in the last character are ignored, as Foundation does.
        #expect(Base64.decode("aGVsbG9=") == Array("hello".utf8))
        #expect(Base64.decode("aB==") == [104])
    }
}
