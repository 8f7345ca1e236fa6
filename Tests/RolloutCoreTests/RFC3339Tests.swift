import RolloutCore
import Testing

@Suite("RFC 3339 formatting and parsing")
struct RFC3339Tests {
    @Test("known instants", arguments: [
        (Int64(0), "1970-01-01T00:00:00.000Z"),
        (Int64(1_795_374_945_123), "2026-11-22T19:15:45.123Z"),
        (Int64(951_782_400_000), "2000-02-29T00:00:00.000Z"),
        (Int64(4_107_542_399_999), "2100-02-28T23:59:59.999Z"),
        (Int64(-1), "1969-12-31T23:59:59.999Z"),
    ])
    func format(milliseconds: Int64, text: String) {
        #expect(RFC3339.format(milliseconds: milliseconds) == text)
        #expect(RFC3339.parse(text).map { Int64(($0 * 1000).rounded()) } == milliseconds)
    }

    @Test("offsets and fractions parse; malformed text does not")
    func parsing() {
        #expect(RFC3339.parse("2026-11-22T23:19:47+02:00") == RFC3339.parse("2026-11-22T21:19:47Z"))
        #expect(RFC3339.parse("2026-11-22t21:19:47.5z") == 1_795_382_387.5)
        #expect(RFC3339.parse("2026-02-30T00:00:00Z") == nil)
        #expect(RFC3339.parse("2026-11-22 21:19") == nil)
    }
}
