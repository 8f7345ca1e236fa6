import Dispatch
import Glibc
import RolloutCore
import Synchronization
import RolloutCrypto

/// Small helpers for ``S3ObjectStore``: base64, dates, file hashing and temp files.
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

    /// The size of the regular file at `path`.
    static func fileSize(_ path: String) throws(RolloutError) -> Int64 {
        var info = stat()
        guard stat(path, &info) == 0 else {
            let code = errno
            if code == ENOENT { throw RolloutError.notFound("no such file: \(path)") }
            throw RolloutError.internalError("cannot stat \(path): \(String(cString: strerror(code)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw RolloutError.invalidParams("param 'path' is not a regular file") }
        return Int64(info.st_size)
    }

    /// A flag a cancellation handler sets and a blocking loop polls.
    final class CancelFlag: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// ``chunkDigests(path:size:chunkBytes:cancelled:)`` on a Dispatch thread, so reading a
    /// large file does not hold a thread of the cooperative pool; cancelling the calling task
    /// stops it between buffers.
    static func chunkDigestsOffPool(path: String, size: Int64, chunkBytes: Int64) async throws(RolloutError) -> [[UInt8]] {
        let flag = CancelFlag()
        let result: Result<[[UInt8]], RolloutError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                DispatchQueue.global().async {
                    do throws(RolloutError) {
                        continuation.resume(returning: .success(try chunkDigests(path: path, size: size, chunkBytes: chunkBytes, cancelled: flag)))
                    } catch {
                        continuation.resume(returning: .failure(error))
                    }
                }
            }
        } onCancel: {
            flag.value.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    /// The SHA-256 of each consecutive `chunkBytes` slice of the file at `path` (`size` bytes
    /// long), read in 1 MiB buffers: memory stays bounded whatever the file size. An empty
    /// file is one empty chunk. Checks `cancelled` between buffers.
    static func chunkDigests(path: String, size: Int64, chunkBytes: Int64, cancelled: CancelFlag) throws(RolloutError) -> [[UInt8]] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw RolloutError.internalError("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var digests: [[UInt8]] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        var remaining = size
        repeat {
            let digest = Digest(.sha256)
            var left = min(chunkBytes, remaining)
            while left > 0 {
                if cancelled.value.load(ordering: .relaxed) { throw RolloutError.cancelled }
                let want = Int(min(Int64(buffer.count), left))
                let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
                if count < 0, errno == EINTR { continue }
                guard count > 0 else {
                    throw RolloutError.internalError("\(path) changed while it was being read")
                }
                buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                left -= Int64(count)
                remaining -= Int64(count)
            }
            digests.append(digest.finalize())
        } while remaining > 0
        return digests
    }

    /// `dir/.rolloutd-<random>.tmp` next to `path`.
    static func temporaryPath(beside path: String) -> String {
        let directory: String
        if let slash = path.lastIndex(of: "/") {
            directory = String(path[..<slash])
        } else {
            directory = "."
        }
        var random = SystemRandomNumberGenerator()
        let suffix = (0..<16).map { _ in String(UInt8.random(in: 0...15, using: &random), radix: 16) }.joined()
        return "\(directory.isEmpty ? "" : directory)/.rolloutd-\(suffix).tmp"
    }
}
