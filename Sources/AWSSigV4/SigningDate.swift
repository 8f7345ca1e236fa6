/// The instant a request is signed, in UTC, with its SigV4 renderings.
///
/// Computed without Foundation: days since the epoch are turned into a civil date with
/// Howard Hinnant's `civil_from_days` algorithm (proleptic Gregorian calendar).
public struct SigningDate: Sendable, Hashable, Comparable {
    /// Whole seconds since 1970-01-01T00:00:00Z.
    public let secondsSinceEpoch: Int64
    /// `YYYYMMDD'T'HHMMSS'Z'`, the `x-amz-date` value, e.g. `20150830T123600Z`.
    public let amzDate: String
    /// Days since the epoch: what the signing key depends on.
    let day: Int64

    /// The instant `secondsSinceEpoch` seconds after the epoch. Years must lie in 0...9999.
    public init(secondsSinceEpoch: Int64) {
        let (day, secondOfDay) = Self.floorDivision(secondsSinceEpoch, 86_400)
        let (year, month, dayOfMonth) = Self.civil(fromDays: day)
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
        let days = Self.days(fromCivilYear: year, month: month, day: dayOfMonth)
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

    private static func floorDivision(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        let remainder = value % divisor
        return remainder < 0 ? (value / divisor - 1, remainder + divisor) : (value / divisor, remainder)
    }

    /// `civil_from_days` (http://howardhinnant.github.io/date_algorithms.html).
    static func civil(fromDays days: Int64) -> (year: Int64, month: Int64, day: Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }

    /// `days_from_civil`, the inverse of ``civil(fromDays:)``.
    static func days(fromCivilYear year: Int64, month: Int64, day: Int64) -> Int64 {
        let marchYear = month <= 2 ? year - 1 : year
        let era = (marchYear >= 0 ? marchYear : marchYear - 399) / 400
        let yearOfEra = marchYear - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
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
