import Dispatch
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
            hashing.cancelled.cancel()
        }
        return try result.get()
    }

    /// The state the hashing workers share: the next chunk to take, the digests so far, the
    /// first failure.
    final class ChunkHashing: Sendable {
        let cancelled = CancellationFlag()
        private let next = Atomic<Int>(0)
        private let count: Int
        private let state: Mutex<(digests: [[UInt8]], failure: RolloutError?)>

        init(count: Int) {
            self.count = count
            state = Mutex((digests: Array(repeating: [], count: count), failure: nil))
        }

        /// One worker: hashes chunks until none is left, a failure or a cancellation.
        func work(source: ObjectSource, size: Int64, chunkBytes: Int64) {
            var buffer = [UInt8](repeating: 0, count: S3Support.hashBufferBytes)
            while true {
                let index = next.wrappingAdd(1, ordering: .relaxed).oldValue
                guard index < count, !cancelled.isCancelled else { break }
                let offset = Int64(index) * chunkBytes
                let length = min(chunkBytes, size - offset)
                do throws(RolloutError) {
                    let digest: [UInt8] = switch source {
                    case .file(let file):
                        try S3Support.chunkDigest(file, offset: offset, length: length, buffer: &buffer, cancelled: cancelled)
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
            cancelled.cancel()
        }

        /// The digests in chunk order, or the first failure (Cancelled when cancelled).
        func result() -> Result<[[UInt8]], RolloutError> {
            state.withLock { state in
                if let failure = state.failure { return .failure(failure) }
                if cancelled.isCancelled { return .failure(.cancelled) }
                return .success(state.digests)
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
