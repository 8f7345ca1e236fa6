import GRDB
import Glibc
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
        case .file(let path):
            try download(body, offset: offset, length: length, to: path, progress: progress, cancellation: cancellation)
            return GetObjectResult(info: stored.info, data: nil)
        }
    }

    /// The index row of `key` and its open body. An open descriptor keeps a body readable
    /// after a concurrent put or delete unlinks it; when the unlink comes between the lookup
    /// and the open, the lookup is repeated.
    private func openBody(of key: String) throws -> (StoredObject, FileDescriptor) {
        for _ in 0..<Self.openAttempts {
            guard let stored = try pool.read({ db in try StoredObject.find(key, in: db) }) else {
                throw Self.notFound(key)
            }
            do throws(SystemCallError) {
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

    /// Streams the body to a temp file next to `path`, syncs it and renames it onto `path`;
    /// the temp file is removed on any failure or cancellation.
    private func download(
        _ body: FileDescriptor, offset: Int64, length: Int64, to path: String, progress: ProgressReporter,
        cancellation: CancellationFlag
    ) throws {
        let temporary = FileSystem.join(FileSystem.directory(of: path), ".rolloutd-\(RandomID.make()).tmp")
        do {
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o666)
            try copy(body, offset: offset, length: length, progress: progress, cancellation: cancellation) { chunk in
                try file.write(chunk)
            }
            try file.sync()
            try FileSystem.rename(temporary, onto: path)
        } catch let error as SystemCallError {
            FileSystem.removeQuietly(temporary)
            throw error.rolloutError(param: "path")
        } catch {
            FileSystem.removeQuietly(temporary)
            throw error
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
            do throws(SystemCallError) {
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
