import Glibc
import RolloutCore
import RolloutSystem
import Synchronization
import RolloutCrypto

/// Small helpers for ``S3ObjectStore``: base64, dates, chunk hashing and temp files.
enum S3Support {
    /// Standard base64 with padding (`x-amz-checksum-sha256` values).
    static func base64(_ bytes: [UInt8]) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count + 2) / 3 * 4)
        var index = 0
        while index + 3 <= bytes.count {
            let value = UInt32(bytes[index]) << 16 | UInt32(bytes[index + 1]) << 8 | UInt32(bytes[index + 2])
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(alphabet[Int(value >> 6 & 63)])
            out.append(alphabet[Int(value & 63)])
            index += 3
        }
        let rest = bytes.count - index
        if rest > 0 {
            var value = UInt32(bytes[index]) << 16
            if rest == 2 { value |= UInt32(bytes[index + 1]) << 8 }
            out.append(alphabet[Int(value >> 18 & 63)])
            out.append(alphabet[Int(value >> 12 & 63)])
            out.append(rest == 2 ? alphabet[Int(value >> 6 & 63)] : UInt8(ascii: "="))
            out.append(UInt8(ascii: "="))
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Standard base64 (padding optional) → bytes; nil for anything else.
    static func base64Decode(_ text: String) -> [UInt8]? {
        var values: [UInt8] = []
        values.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): values.append(byte - UInt8(ascii: "A"))
            case UInt8(ascii: "a")...UInt8(ascii: "z"): values.append(byte - UInt8(ascii: "a") + 26)
            case UInt8(ascii: "0")...UInt8(ascii: "9"): values.append(byte - UInt8(ascii: "0") + 52)
            case UInt8(ascii: "+"): values.append(62)
            case UInt8(ascii: "/"): values.append(63)
            case UInt8(ascii: "="): continue
            default: return nil
            }
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(values.count * 3 / 4)
        var index = 0
        while index < values.count {
            let group = values[index..<min(index + 4, values.count)]
            var accumulator: UInt32 = 0
            for value in group { accumulator = accumulator << 6 | UInt32(value) }
            accumulator <<= UInt32(6 * (4 - group.count))
            let produced = group.count - 1
            for shift in [16, 8, 0].prefix(produced) { out.append(UInt8(truncatingIfNeeded: accumulator >> UInt32(shift))) }
            index += 4
        }
        return out
    }

    /// `"abc"` → `abc` (also `W/"abc"`).
    static func unquote(_ etag: String) -> String {
        var text = Substring(etag)
        if text.hasPrefix("W/") { text = text.dropFirst(2) }
        if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = text.dropFirst().dropLast() }
        return String(text)
    }

    /// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) as RFC 3339 UTC; values that already
    /// look like RFC 3339 pass through; anything else is nil.
    static func rfc3339(httpDate: String) -> String? {
        if httpDate.count >= 20, httpDate.dropFirst(4).hasPrefix("-") { return httpDate }
        let parts = httpDate.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT" else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let day = Int(parts[1]), let monthIndex = months.firstIndex(of: String(parts[2])), let year = Int(parts[3]) else {
            return nil
        }
        let time = parts[4].split(separator: ":")
        guard time.count == 3, time.allSatisfy({ $0.count == 2 && Int($0) != nil }) else { return nil }
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(monthIndex + 1))-\(two(day))T\(time[0]):\(time[1]):\(time[2])Z"
    }

    /// The read buffer of a hashing job: as fast as 1 MiB here (the SHA-256 dominates), at a
    /// quarter of the memory.
    static let hashBufferBytes = 256 << 10

    /// Where hashing jobs run: each on a Dispatch thread of its own, never on the cooperative pool.
    static let hashIO = BlockingIO(label: "rolloutd.s3.hash")

    /// The SHA-256 of `length` bytes of `source` from `offset`, computed on ``hashIO`` through
    /// one ``hashBufferBytes`` buffer. Cancelling the calling task stops the job between buffers.
    static func chunkDigestOffPool(source: ObjectSource, offset: Int64, length: Int64) async throws(RolloutError) -> [UInt8] {
        try await hashIO.run { cancelled throws(RolloutError) -> [UInt8] in
            switch source {
            case .file(let file):
                var buffer = [UInt8](repeating: 0, count: hashBufferBytes)
                return try chunkDigest(file, offset: offset, length: length, buffer: &buffer, cancelled: cancelled)
            case .bytes(let bytes):
                return try chunkDigest(bytes, offset: Int(offset), length: Int(length), cancelled: cancelled)
            }
        }
    }

    /// The SHA-256 of `length` bytes of `file` from `offset`, read with `pread` through
    /// `buffer`. Checks `cancelled` between reads.
    static func chunkDigest(
        _ file: ReadableFile, offset: Int64, length: Int64, buffer: inout [UInt8], cancelled: CancellationFlag
    ) throws(RolloutError) -> [UInt8] {
        let digest = Digest(.sha256)
        var position = offset
        let end = offset + length
        while position < end {
            if cancelled.isCancelled { throw RolloutError.cancelled }
            let want = Int(min(Int64(buffer.count), end - position))
            let count: Int
            do {
                count = try buffer.withUnsafeMutableBytes { bytes throws(SystemError) in
                    try file.read(into: UnsafeMutableRawBufferPointer(rebasing: bytes[0..<want]), at: position)
                }
            } catch let error as SystemError {
                throw RolloutError(error, param: "path")
            } catch {
                throw RolloutError.internalError("cannot read \(file.path)")
            }
            guard count > 0 else {
                throw RolloutError.internalError("\(file.path) changed while it was being read")
            }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            position += Int64(count)
        }
        return digest.finalize()
    }

    /// The SHA-256 of `bytes[offset..<offset + length]`, fed in ``hashBufferBytes`` steps so
    /// `cancelled` is checked between them.
    static func chunkDigest(_ bytes: [UInt8], offset: Int, length: Int, cancelled: CancellationFlag) throws(RolloutError) -> [UInt8] {
        let digest = Digest(.sha256)
        var position = offset
        while position < offset + length {
            if cancelled.isCancelled { throw RolloutError.cancelled }
            let step = min(hashBufferBytes, offset + length - position)
            bytes.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[position..<(position + step)])) }
            position += step
        }
        return digest.finalize()
    }
}
