import Glibc
import RolloutSystem
public import RolloutCore

extension LocalObjectStore {
    /// Reads an object, or an inclusive byte range of it, into memory or onto a file (through
    /// a temp file in the destination's directory, renamed into place).
    public func get(_ request: GetObjectRequest, progress: ProgressReporter) async throws -> GetObjectResult {
        try await io.run { cancellation in
            try self.read(request, progress: progress, cancellation: cancellation)
        }
    }

    /// How many times a lookup is retried when its blob vanished before it could be opened.
    private static let openAttempts = 3
    /// The copy buffer.
    private static let bufferBytes = 1 << 20

    private func read(
        _ request: GetObjectRequest, progress: ProgressReporter, cancellation: CancellationFlag
    ) throws -> GetObjectResult {
        let (stored, body) = try openBody(of: request.key)
        if let expected = request.ifMatch, !Self.etag(expected, matches: stored.etag) {
            throw RolloutError(
                .preconditionFailed, "object \"\(request.key)\" has etag \"\(stored.etag)\", not \"\(expected)\" (ifMatch)"
            )
        }
        let (offset, length) = try Self.resolve(request.range, size: stored.size)
        switch request.destination {
        case .memory(let limit):
            guard length <= limit else {
                throw RolloutError(
                    .tooLarge, "the body is \(length) bytes, over the inline limit of \(limit) bytes; pass 'path' to stream it to a file"
                )
            }
            var data: [UInt8] = []
            data.reserveCapacity(Int(length))
            try copy(body, offset: offset, length: length, progress: progress, cancellation: cancellation) { chunk in
                data.append(contentsOf: chunk)
            }
            return GetObjectResult(info: stored.info, data: data)
        case .file(let target):
            try download(body, offset: offset, length: length, to: target, progress: progress, cancellation: cancellation)
            return GetObjectResult(info: stored.info, data: nil)
        }
    }

    /// The index row of `key` and its open body. An open descriptor keeps a body readable
    /// after a concurrent put or delete unlinks it; when the unlink comes between the lookup
    /// and the open, the lookup is repeated.
    private func openBody(of key: String) throws -> (IndexedObject, FileDescriptor) {
        for _ in 0..<Self.openAttempts {
            guard let stored = try index.lookup(key) else {
                throw Self.notFound(key)
            }
            do throws(SystemError) {
                return (stored, try FileDescriptor(path: blobs.path(of: stored.blob), flags: O_RDONLY))
            } catch let error where error.code == ENOENT {
                continue
            } catch {
                throw error.internalError
            }
        }
        throw RolloutError.internalError("local provider: the body of object \"\(key)\" is missing")
    }

    /// The offset and length selected by `range` (whole object when nil); `end` is clamped
    /// to the last byte.
    private static func resolve(_ range: ByteRange?, size: Int64) throws(RolloutError) -> (offset: Int64, length: Int64) {
        guard let range else { return (0, size) }
        guard range.start >= 0, range.start <= range.end, range.start < size else {
            throw .invalidParams(
                "param 'range' {start: \(range.start), end: \(range.end)} is not satisfiable for an object of \(size) bytes"
            )
        }
        return (range.start, min(range.end, size - 1) - range.start + 1)
    }

    /// Streams the body to a temp file created in the target's directory descriptor, syncs it
    /// and renames it onto the target's name in that same directory; the temp file is removed
    /// on any failure or cancellation.
    private func download(
        _ body: FileDescriptor, offset: Int64, length: Int64, to target: FileTarget, progress: ProgressReporter,
        cancellation: CancellationFlag
    ) throws {
        do {
            let temporary = try target.createTemporary()
            var written: Int64 = 0
            try copy(body, offset: offset, length: length, progress: progress, cancellation: cancellation) { chunk in
                try temporary.file.write(chunk, at: written)
                written += Int64(chunk.count)
            }
            try temporary.commit()
        } catch let error as SystemError {
            throw RolloutError(error, param: "path")
        }
    }

    /// Reads `length` bytes of `body` from `offset` in 1 MiB chunks, passing each to `consume`
    /// and reporting progress after each.
    private func copy(
        _ body: FileDescriptor, offset: Int64, length: Int64, progress: ProgressReporter, cancellation: CancellationFlag,
        into consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.bufferBytes, alignment: 16)
        defer { buffer.deallocate() }
        var done: Int64 = 0
        while done < length {
            try cancellation.check()
            let wanted = Int(min(Int64(buffer.count), length - done))
            let count: Int
            do throws(SystemError) {
                count = try body.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<wanted]), at: offset + done)
            } catch {
                throw error.internalError
            }
            guard count > 0 else {
                throw RolloutError.internalError("local provider: the body file \(body.path) is shorter than its index entry")
            }
            try consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            done += Int64(count)
            if done < length {
                progress.bytes(done: done, total: length)
            }
        }
        progress.bytes(done: length, total: length, final: true)
    }
}
