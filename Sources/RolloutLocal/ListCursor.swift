import RolloutCore
import RolloutCrypto

/// The `object.list` cursor: the last key of the previous page as hex of its UTF-8, so that
/// clients treat it as opaque and any key, however long or odd, survives the round trip.
enum ListCursor {
    /// The cursor that resumes after `key`.
    static func make(after key: String) -> String {
        Array(key.utf8).hexString
    }

    /// The key a cursor resumes after; InvalidParams naming `cursor` when it is not one of ours.
    static func key(after cursor: String) throws(RolloutError) -> String {
        let digits = Array(cursor.utf8)
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        var index = 0
        while index + 1 < digits.count {
            guard let high = nibble(digits[index]), let low = nibble(digits[index + 1]) else { break }
            bytes.append(high << 4 | low)
            index += 2
        }
        guard !digits.isEmpty, index == digits.count, let key = String(validating: bytes, as: UTF8.self) else {
            throw .invalidParams("param 'cursor' is not a cursor returned by object.list")
        }
        return key
    }

    private static func nibble(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        default: nil
        }
    }
}
