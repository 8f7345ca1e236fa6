import RolloutCore
import Testing

@Suite("Byte-exact comparisons: ByteExactString and SecretAllowlist")
struct SecretAllowlistTests {
    /// Pairs that Swift's `String ==` calls equal (canonical equivalence) but whose bytes differ.
    static let canonicallyEqual: [(String, String)] = [
        ("prod/API_KEY", "prod/API_\u{212A}EY"),  // KELVIN SIGN
        ("caf\u{E9}", "cafe\u{301}"),  // precomposed é vs e + COMBINING ACUTE ACCENT
        ("\u{C5}ngstr\u{F6}m", "\u{212B}ngstr\u{F6}m"),  // ANGSTROM SIGN
        ("a;b", "a\u{37E}b"),  // GREEK QUESTION MARK
    ]

    @Test("String == says equal, ByteExactString says different", arguments: canonicallyEqual)
    func canonicalEquivalentsDiffer(listed: String, lookAlike: String) {
        #expect(listed == lookAlike, "the premise: Swift String equality is canonical equivalence")
        #expect(ByteExactString(listed) != ByteExactString(lookAlike))
        #expect(Set([ByteExactString(listed)]).contains(ByteExactString(lookAlike)) == false)
        let copy = String(decoding: Array(listed.utf8), as: UTF8.self)
        #expect(ByteExactString(listed) == ByteExactString(copy))
        #expect(ByteExactString(listed).hashValue == ByteExactString(copy).hashValue)
    }

    @Test("the allowlist serves only names listed byte for byte")
    func allowlistIsByteExact() {
        let allowlist = SecretAllowlist(["prod/API_KEY", "caf\u{E9}/token", "nai\u{308}ve"], configKey: "[cloud.local].secrets_allowlist")
        for name in ["prod/API_KEY", "caf\u{E9}/token", "nai\u{308}ve"] {
            #expect(allowlist.contains(name))
            #expect(throws: Never.self) { try allowlist.check(name) }
        }
        let refused = [
            "prod/API_\u{212A}EY", "prod/api_key", "Prod/API_KEY", "prod/API_KEY ", " prod/API_KEY", "prod/API_KEY\n",
            "\u{FF50}\u{FF52}\u{FF4F}\u{FF44}/API_KEY", "prod/API_KE", "cafe\u{301}/token", "CAF\u{C9}/token", "na\u{EF}ve", "",
        ]
        for name in refused {
            #expect(!allowlist.contains(name), "\(name.debugDescription)")
            let error = #expect(throws: RolloutError.self) { try allowlist.check(name) }
            #expect(error?.code == .configInvalid)
            #expect(error?.message.contains("[cloud.local].secrets_allowlist") == true)
        }
    }

    @Test("a refused name is shown with everything outside printable ASCII escaped")
    func refusalEscapesTheName() {
        let allowlist = SecretAllowlist(["prod/API_KEY"], configKey: "[cloud.aws.secrets].allowlist")
        let error = #expect(throws: RolloutError.self) { try allowlist.check("prod/API_\u{212A}EY\n") }
        #expect(error?.message.contains(#""prod/API_\u{212A}EY\u{A}""#) == true, "\(error?.message ?? "")")
        #expect(ByteExactString("a\"b\\c").escapedDescription == #""a\"b\\c""#)
    }
}
