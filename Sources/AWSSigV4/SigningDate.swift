import RolloutCore

/// The instant a request is signed, in UTC, with its SigV4 renderings.
///
/// Computed without Foundation: days since the epoch are turned into a civil date with
/// RolloutCore's ``CivilCalendar`` (proleptic Gregorian calendar).
public struct SigningDate: Sendable, Hashable, Comparable {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `x-amz-date` value, e.g. `20150830T123600Z`.
    public let amzDate: String
    /// Days since the epoch: what the signing key depends on.
    let day: Int64

    /// The instant `secondsSinceEpoch` seconds after the epoch. Years must lie in 0...9999.
    public init(secondsSinceEpoch: Int64) {
        let (day, secondOfDay) = CivilCalendar.floorDivide(secondsSinceEpoch, 86_400)
        let (year, month, dayOfMonth) = CivilCalendar.civil(fromDays: day)
        precondition((0...9999).contains(year), "SigV4 dates have four-digit years")
        var text: [UInt8] = []
        text.reserveCapacity(16)
        Self.appendDigits(year, count: 4, to: &text)
        Self.appendDigits(month, count: 2, to: &text)
        Self.appendDigits(dayOfMonth, count: 2, to: &text)
        text.append(UInt8(ascii: "T"))
        Self.appendDigits(secondOfDay / 3600, count: 2, to: &text)
        Self.appendDigits(secondOfDay / 60 % 60, count: 2, to: &text)
        Self.appendDigits(secondOfDay % 60, count: 2, to: &text)
        text.append(UInt8(ascii: "Z"))
        self.secondsSinceEpoch = secondsSinceEpoch
        self.amzDate = String(decoding: text, as: UTF8.self)
        self.day = day
    }

    /// The instant `timeIntervalSince1970` seconds after the epoch (a wall-clock reading, as
    /// Foundation's `Date` has it), rounded down to a whole second.
    public init(timeIntervalSince1970: Double) {
        self.init(secondsSinceEpoch: Int64(timeIntervalSince1970.rounded(.down)))
    }

    /// Parses an `x-amz-date` value such as `20150830T123600Z`; nil unless it is a valid instant
    /// in exactly that form.
    public init?(amzDate: String) {
        let bytes = Array(amzDate.utf8)
        guard bytes.count == 16, bytes[8] == UInt8(ascii: "T"), bytes[15] == UInt8(ascii: "Z") else { return nil }
        func number(_ range: Range<Int>) -> Int64? {
            var value: Int64 = 0
            for byte in bytes[range] {
                guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - UInt8(ascii: "0"))
            }
            return value
        }
        guard let year = number(0..<4), let month = number(4..<6), let dayOfMonth = number(6..<8),
              let hour = number(9..<11), let minute = number(11..<13), let second = number(13..<15),
              (1...12).contains(month), (1...31).contains(dayOfMonth), hour < 24, minute < 60, second < 60
        else { return nil }
        let days = CivilCalendar.days(fromYear: year, month: month, day: dayOfMonth)
        self.init(secondsSinceEpoch: days * 86_400 + hour * 3600 + minute * 60 + second)
        // Rejects days the month does not have (20150231 would otherwise roll into March).
        guard self.amzDate == amzDate else { return nil }
    }

    /// `YYYYMMDD`, the date in the credential scope, e.g. `20150830`.
    public var dateStamp: String {
        String(amzDate.prefix(8))
    }

    /// Orders by instant.
    public static func < (lhs: SigningDate, rhs: SigningDate) -> Bool {
        lhs.secondsSinceEpoch < rhs.secondsSinceEpoch
    }

    private static func appendDigits(_ value: Int64, count: Int, to text: inout [UInt8]) {
        var divisor: Int64 = 1
        for _ in 1..<count {
            divisor *= 10
        }
        while divisor > 0 {
            text.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
            divisor /= 10
        }
    }
}
