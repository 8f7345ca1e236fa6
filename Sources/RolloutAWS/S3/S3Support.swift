import Dispatch
import Glibc
import RolloutCore
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

    /// The number of CPUs online (at least 1).
    static let onlineCPUs = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))

    /// The read buffer of one hashing worker: as fast as 1 MiB here (the SHA-256 dominates),
    /// at a quarter of the memory per worker.
    static let hashBufferBytes = 256 << 10

    /// The SHA-256 of each consecutive `chunkBytes` slice of `source` (`size` bytes long; an
    /// empty source is one empty chunk), in order.
    ///
    /// Up to `workers` chunks are hashed at once, each by a Dispatch thread of its own (a
    /// serial queue per worker: libdispatch's overcommit pool), never on the cooperative pool.
    /// A worker opens the file, takes the next unhashed chunk, reads it with `pread` through
    /// one ``hashBufferBytes`` buffer and keeps only its 32-byte digest, so memory is
    /// `workers × hashBufferBytes` whatever the file size. Cancelling the calling task stops
    /// every worker between buffers; the first failure stops the others too.
    static func chunkDigestsOffPool(
        source: ObjectSource, size: Int64, chunkBytes: Int64, workers: Int
    ) async throws(RolloutError) -> [[UInt8]] {
        let count = Int(max(1, (size + chunkBytes - 1) / chunkBytes))
        let hashing = ChunkHashing(count: count)
        let result: Result<[[UInt8]], RolloutError> = await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let group = DispatchGroup()
                for _ in 0..<min(max(1, workers), count) {
                    DispatchQueue(label: "rolloutd.s3.hash", qos: .userInitiated).async(group: group) {
                        hashing.work(source: source, size: size, chunkBytes: chunkBytes)
                    }
                }
                group.notify(queue: .global()) {
                    continuation.resume(returning: hashing.result())
                }
            }
        } onCancel: {
            hashing.cancelled.value.store(true, ordering: .relaxed)
        }
        return try result.get()
    }

    /// The state the hashing workers share: the next chunk to take, the digests so far, the
    /// first failure.
    final class ChunkHashing: Sendable {
        let cancelled = CancelFlag()
        private let next = Atomic<Int>(0)
        private let count: Int
        private let state: Mutex<(digests: [[UInt8]], failure: RolloutError?)>

        init(count: Int) {
            self.count = count
            state = Mutex((digests: Array(repeating: [], count: count), failure: nil))
        }

        /// One worker: hashes chunks until none is left, a failure or a cancellation.
        func work(source: ObjectSource, size: Int64, chunkBytes: Int64) {
            var fd: Int32 = -1
            if case .file(let path) = source {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else {
                    fail(RolloutError.internalError("cannot open \(path): \(String(cString: strerror(errno)))"))
                    return
                }
            }
            defer { if fd >= 0 { close(fd) } }
            var buffer = [UInt8](repeating: 0, count: S3Support.hashBufferBytes)
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count, !cancelled.value.load(ordering: .relaxed) else { break }
                let offset = Int64(index) * chunkBytes
                let length = min(chunkBytes, size - offset)
                do throws(RolloutError) {
                    let digest: [UInt8] = switch source {
                    case .file(let path):
                        try S3Support.chunkDigest(fd: fd, path: path, offset: offset, length: length, buffer: &buffer, cancelled: cancelled)
                    case .bytes(let bytes):
                        try S3Support.chunkDigest(bytes, offset: Int(offset), length: Int(length), cancelled: cancelled)
                    }
                    state.withLock { $0.digests[index] = digest }
                } catch {
                    fail(error)
                    break
                }
            }
        }

        /// Keeps the first failure and stops the other workers.
        private func fail(_ error: RolloutError) {
            state.withLock { if $0.failure == nil { $0.failure = error } }
            cancelled.value.store(true, ordering: .relaxed)
        }

        /// The digests in chunk order, or the first failure (Cancelled when cancelled).
        func result() -> Result<[[UInt8]], RolloutError> {
            state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if cancelled.value.load(ordering: .relaxed) { return .failure(.cancelled) }
                return .success(state.digests)
            }
        }
    }

    /// The SHA-256 of `length` bytes of the open file `fd` from `offset`, read with `pread`
    /// through `buffer`. Checks `cancelled` between reads.
    static func chunkDigest(
        fd: Int32, path: String, offset: Int64, length: Int64, buffer: inout [UInt8], cancelled: CancelFlag
    ) throws(RolloutError) -> [UInt8] {
        let digest = Digest(.sha256)
        var position = offset
        let end = offset + length
        while position < end {
            if cancelled.value.load(ordering: .relaxed) { throw RolloutError.cancelled }
            let want = Int(min(Int64(buffer.count), end - position))
            let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(position)) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else {
                if count < 0 { throw RolloutError.internalError("cannot read \(path): \(String(cString: strerror(errno)))") }
                throw RolloutError.internalError("\(path) changed while it was being read")
            }
            buffer.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
            position += Int64(count)
        }
        return digest.finalize()
    }

    /// The SHA-256 of `bytes[offset..<offset + length]`, fed in ``hashBufferBytes`` steps so
    /// `cancelled` is checked between them.
    static func chunkDigest(_ bytes: [UInt8], offset: Int, length: Int, cancelled: CancelFlag) throws(RolloutError) -> [UInt8] {
        let digest = Digest(.sha256)
        var position = offset
        while position < offset + length {
            if cancelled.value.load(ordering: .relaxed) { throw RolloutError.cancelled }
            let step = min(hashBufferBytes, offset + length - position)
            bytes.withUnsafeBytes { digest.update(UnsafeRawBufferPointer(rebasing: $0[position..<(position + step)])) }
            position += step
        }
        return digest.finalize()
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
