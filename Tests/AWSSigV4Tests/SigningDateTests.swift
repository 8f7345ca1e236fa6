import AWSSigV4
import Testing

@Suite("SigningDate renders and parses x-amz-date without Foundation")
struct SigningDateTests {
    @Test(
        "Known instants render as YYYYMMDD'T'HHMMSS'Z'",
        arguments: [
            (Int64(0), "19700101T000000Z"),
            (1_440_938_160, "20150830T123600Z"),
            (1_369_353_600, "20130524T000000Z"),
            (951_782_400, "20000229T000000Z"),
            (1_456_704_000, "20160229T000000Z"),
            (946_684_799, "19991231T235959Z"),
            (4_107_542_399, "21000228T235959Z"),
            (4_107_542_400, "21000301T000000Z"),
            (-1, "19691231T235959Z"),
            (253_402_300_799, "99991231T235959Z"),
        ]
    )
    func rendering(seconds: Int64, expected: String) throws {
        let date = SigningDate(secondsSinceEpoch: seconds)
        #expect(date.amzDate == expected)
        #expect(date.dateStamp == String(expected.prefix(8)))
        #expect(SigningDate(amzDate: expected)?.secondsSinceEpoch == seconds)
    }

    @Test("Fractional wall-clock readings round down")
    func fractions() {
        #expect(SigningDate(timeIntervalSince1970: 1_440_938_160.999).amzDate == "20150830T123600Z")
        #expect(SigningDate(timeIntervalSince1970: -0.5).amzDate == "19691231T235959Z")
    }

    @Test("Every day from 1970 to 2100 round-trips through its rendering")
    func roundTrip() throws {
        var seconds: Int64 = 0
        var previous = SigningDate(secondsSinceEpoch: -86_400)
        while seconds < 4_133_980_800 {
            let date = SigningDate(secondsSinceEpoch: seconds + 45_296)  // 12:34:56 each day
            #expect(date.amzDate.hasSuffix("T123456Z"))
            #expect(SigningDate(amzDate: date.amzDate) == date)
            #expect(previous < date && previous.dateStamp < date.dateStamp)
            previous = date
            seconds += 86_400
        }
    }

    @Test(
        "Malformed or impossible dates are rejected",
        arguments: ["", "20150830", "20150830T123600", "20150830T123600z", "2015-08-30T12:36:00Z", "20150231T000000Z",
                    "20151301T000000Z", "20150800T000000Z", "20150830T240000Z", "20150830T126000Z", "20150830T123660Z",
                    "2015083OT123600Z", "20190229T000000Z", "+0150830T123600Z"]
    )
    func rejects(text: String) {
        #expect(SigningDate(amzDate: text) == nil)
    }
}
