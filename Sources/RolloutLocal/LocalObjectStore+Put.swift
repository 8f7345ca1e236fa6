import Glibc
public import RolloutCore
import RolloutCrypto
import RolloutRPC
import RolloutSystem

extension LocalObjectStore {
    /// Stores an object: the body goes to a new blob while it is hashed (MD5 etag and
    /// content id in one pass), then the index row is swapped in one transaction that also
    /// checks `ifNoneMatch`/`ifMatch`, and the replaced blob is removed. Oversized sources
    /// fail with TooLarge before anything is written; on any failure or cancellation the new
    /// blob is removed.
    public func put(_ request: PutObjectRequest, progress: ProgressReporter) async throws -> PutObjectResult {
        let call = IdempotentCall.current(for: ObjectPut.name)
        return try await io.run { cancellation in
            try self.store(request, progress: progress, cancellation: cancellation, call: call)
        }
    }

    /// In a keyed `object.put` (`call`), the idempotency record commits with the index row.
    private func store(
        _ request: PutObjectRequest, progress: ProgressReporter, cancellation: CancellationFlag, call: IdempotentCall?
    ) throws -> PutObjectResult {
        let source = ObjectSourceReader(request.source)
        try checkSize(source.size)
        // Fail before writing a body that could not be stored; checked again at the swap.
        try Self.checkPreconditions(of: request, against: index.lookup(request.key))
        let blob = RandomID.make()
        try index.journalBlob(blob)
        do {
            let body = try writeBody(blob, from: source, progress: progress, cancellation: cancellation)
            let stored = IndexedObject(
                key: request.key, blob: blob, size: body.size, etag: body.etag, contentId: body.contentId,
                contentType: request.contentType, metadata: request.metadata,
                lastModified: WallClock.milliseconds()
            )
            let result = PutObjectResult(key: request.key, size: body.size, etag: body.etag, contentId: body.contentId, parts: 1)
            let replaced = try index.swapIn(
                stored, check: { current in try Self.checkPreconditions(of: request, against: current) },
                finishing: call.map { call in FinishRecord(call, encoding: { result }) }
            )
            if let replaced {
                // The put has succeeded. A replaced body that cannot be removed now stays in
                // the journal and is collected at the next start.
                try? index.collectBlobs([replaced], removing: blobs.removeFiles(of:))
            }
            progress.bytes(done: body.size, total: body.size, final: true)
            return result
        } catch {
            // This thread is not a Swift task, so the clean-up runs even after cancellation.
            // If it fails, the blob stays journalled and is collected at the next start.
            try? index.collectBlobs([blob], removing: blobs.removeFiles(of:))
            throw error
        }
    }

    /// Streams `source` into the temp file of `blob`, hashing as it goes, then syncs it and
    /// renames it into place.
    private func writeBody(
        _ blob: String, from source: ObjectSourceReader, progress: ProgressReporter, cancellation: CancellationFlag
    ) throws -> (size: Int64, etag: String, contentId: String) {
        let directory = blobs.directory(of: blob)
        let temporary = blobs.temporaryPath(of: blob)
        let hasher = ContentIDHasher(chunkBytes: chunkBytes, withMD5: true)
        do {
            try Directories.make(directory, mode: 0o700)
            let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL, mode: 0o600)
            var reported: Int64 = 0
            try source.forEachChunk(cancellation: cancellation) { chunk in
                hasher.update(chunk)
                // The file may have grown since it was measured.
                try checkSize(hasher.byteCount)
                try file.write(chunk)
                if hasher.byteCount - reported >= Self.progressInterval {
                    reported = hasher.byteCount
                    progress.bytes(done: reported, total: source.size)
                }
            }
            try file.sync()
            try Directories.rename(temporary, onto: blobs.path(of: blob))
            try Directories.sync(directory)
        } catch let error as SystemError {
            throw error.internalError
        }
        let digests = hasher.finalize()
        guard let etag = digests.md5 else {
            throw RolloutError.internalError("local provider: the MD5 etag was not computed")
        }
        return (hasher.byteCount, etag, digests.contentId)
    }

    private func checkSize(_ size: Int64) throws(RolloutError) {
        guard size <= maxObjectBytes else {
            throw RolloutError(.tooLarge, "the object is \(size) bytes, over the limit of \(maxObjectBytes) bytes")
        }
    }

    private static func checkPreconditions(of request: PutObjectRequest, against current: IndexedObject?) throws(RolloutError) {
        if request.ifNoneMatch, current != nil {
            throw RolloutError(.preconditionFailed, "object \"\(request.key)\" already exists (ifNoneMatch: \"*\")")
        }
        if let expected = request.ifMatch {
            guard let current else {
                throw RolloutError(.preconditionFailed, "object \"\(request.key)\" does not exist (ifMatch: \"\(expected)\")")
            }
            guard etag(expected, matches: current.etag) else {
                throw RolloutError(
                    .preconditionFailed, "object \"\(request.key)\" has etag \"\(current.etag)\", not \"\(expected)\" (ifMatch)"
                )
            }
        }
    }
}
