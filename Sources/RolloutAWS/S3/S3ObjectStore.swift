public import RolloutCore
import AWSSigV4
import CurlHTTP
import Glibc
import RolloutSystem
import RolloutCrypto
import Synchronization

/// The ObjectStore capability on S3 (SPEC §4.2), over an ``AWSClient`` for the `s3` service.
///
/// Every key lives under ``prefix``. Objects up to ``multipartChunkBytes`` go up in one
/// `PutObject` (hashed first; the contentId is `content-id` metadata); larger ones in a
/// multipart upload created with `ChecksumAlgorithm=SHA256` whose parts are exactly the
/// contentId chunks. Each part of a file is read once, straight into libcurl's upload buffer,
/// and hashed there as it is sent: an unsigned `aws-chunked` body whose trailer carries its
/// `x-amz-checksum-sha256` (``ChecksumTrailerBody``), which S3 verifies, so a part is stored
/// whole or not at all, and a retried part is byte-identical. That needs TLS (or a loopback
/// endpoint, ``usesChecksumTrailer``): over plain HTTP elsewhere each part is hashed first (on
/// a Dispatch thread, 256 KiB reads) and its SHA-256 is the signed payload hash and the
/// checksum header, the send reading it again from the page cache. The contentId, the SHA-256
/// over the part digests, is S3's COMPOSITE checksum of the object, read back with
/// `x-amz-checksum-mode: ENABLED`. No part is ever held in memory whole.
public struct S3ObjectStore: ObjectStore {
    /// The S3 client (its endpoint was resolved by the daemon).
    public let client: AWSClient
    /// The bucket.
    public let bucket: String
    /// The key prefix every key lives under (empty, or ending in `/`).
    public let prefix: String
    /// True when requests use `/bucket/key` paths.
    public let usesPathStyle: Bool
    /// True when parts of a file go up with their checksum in an `aws-chunked` trailer, the
    /// body unsigned (`STREAMING-UNSIGNED-PAYLOAD-TRAILER`): over `https`, or to a loopback
    /// host (nobody can alter the body on the way). Elsewhere the payload hash is signed. A
    /// server that answers such a part `NotImplemented` (HTTP 501: some S3-compatible servers
    /// do) gets that part, and every later one, with the signed payload hash instead.
    public internal(set) var usesChecksumTrailer: Bool
    private let trailerRefused = TrailerRefusal()
    /// Part size, and the largest object sent in one PutObject.
    public let multipartChunkBytes: Int64
    /// The largest object accepted (TooLarge before anything is sent).
    public let maxObjectBytes: Int64
    /// Parts in flight at once.
    public let uploadConcurrency: Int
    /// Where multipart uploads are journaled.
    public let journal: any UploadJournal

    private static let xmlLimit = 16 << 20
    /// S3's part-number limit.
    static let maxParts: Int64 = 10_000

    /// A store for `bucket` under `prefix` (a non-empty prefix without a trailing `/` gets one).
    ///
    /// Addressing: path-style (`/bucket/key` on the client's endpoint) when `forcePathStyle`,
    /// when the endpoint host is an IP address or `localhost`, when the bucket is not
    /// DNS-compatible, or when the client's endpoint host does not already start with
    /// `bucket.`. Otherwise (the daemon gave the client the virtual-hosted endpoint
    /// `bucket.s3.region.amazonaws.com`) paths are `/key`. ``AWSClient`` has one host per
    /// client, so a virtual-hosted store needs a client built for the bucket's host.
    public init(
        client: AWSClient, bucket: String, prefix: String, forcePathStyle: Bool, multipartChunkBytes: Int64,
        maxObjectBytes: Int64, uploadConcurrency: Int, journal: any UploadJournal
    ) {
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.isEmpty || prefix.hasSuffix("/") ? prefix : prefix + "/"
        self.multipartChunkBytes = max(1, multipartChunkBytes)
        self.maxObjectBytes = maxObjectBytes
        self.uploadConcurrency = max(1, uploadConcurrency)
        self.journal = journal
        let host = Self.hostName(client.endpoint.host)
        let virtualReady = host.hasPrefix(bucket.lowercased() + ".")
        self.usesPathStyle = forcePathStyle || Self.isIPAddress(host) || host == "localhost"
            || !Self.isDNSCompatible(bucket) || !virtualReady
        self.usesChecksumTrailer = client.endpoint.scheme == "https" || Self.isLoopback(host)
    }

    // MARK: Addressing

    /// The host without port or IPv6 brackets.
    static func hostName(_ host: String) -> String {
        if host.hasPrefix("[") { return String(host.dropFirst().prefix { $0 != "]" }) }
        return String(host.prefix { $0 != ":" })
    }

    static func isIPAddress(_ host: String) -> Bool {
        if host.contains(":") { return true }
        let parts = host.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.count <= 3 && $0.allSatisfy(\.isNumber) }
    }

    /// `localhost`, `127.0.0.0/8` or `::1`.
    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host == "::1" || (host.hasPrefix("127.") && isIPAddress(host))
    }

    /// S3's DNS-compatible bucket names: 3–63 of `a-z 0-9 . -`, starting and ending with a
    /// letter or digit, no `..`, not an IP address.
    static func isDNSCompatible(_ bucket: String) -> Bool {
        let bytes = Array(bucket.utf8)
        guard (3...63).contains(bytes.count) else { return false }
        func alnum(_ byte: UInt8) -> Bool { (0x61...0x7A).contains(byte) || (0x30...0x39).contains(byte) }
        guard alnum(bytes.first!), alnum(bytes.last!) else { return false }
        guard bytes.allSatisfy({ alnum($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") }) else { return false }
        return !bucket.contains("..") && !isIPAddress(bucket)
    }

    /// The full S3 key for a store key.
    func fullKey(_ key: String) -> String { prefix + key }

    /// The wire path of an S3 key (not the store key).
    func objectPath(s3Key: String) -> String {
        let encoded = SigV4Signer.encodePath("/" + s3Key)
        return usesPathStyle ? "/" + SigV4Signer.encodeURIComponent(bucket) + encoded : encoded
    }

    var bucketPath: String {
        usesPathStyle ? "/" + SigV4Signer.encodeURIComponent(bucket) : "/"
    }

    // MARK: put

    /// Stores an object: one PutObject up to ``multipartChunkBytes``, multipart above. A keyed
    /// put that a killed daemon had started (``IdempotentCall/resuming``) is done, without
    /// uploading, when the key already holds an object of its content id and size.
    public func put(_ request: PutObjectRequest, progress: ProgressReporter) async throws -> PutObjectResult {
        let size: Int64
        switch request.source {
        case .bytes(let bytes): size = Int64(bytes.count)
        case .file(let file): size = file.size
        }
        guard size <= maxObjectBytes else {
            throw RolloutError(.tooLarge, "the object is \(size) bytes, over the limit of \(maxObjectBytes) (max_snapshot_part_bytes)")
        }
        let partCount = max(1, (size + multipartChunkBytes - 1) / multipartChunkBytes)
        guard partCount <= Self.maxParts else {
            throw RolloutError(
                .tooLarge,
                "the object is \(size) bytes: \(partCount) parts of \(multipartChunkBytes) bytes, over S3's \(Self.maxParts); raise multipart_chunk_bytes"
            )
        }
        // A keyed put that a killed daemon had started: done when the key already holds these
        // bytes. Only then is the source hashed ahead of the upload (to compare contentIds).
        let resuming = IdempotentCall.current(for: "object.put")?.resuming == true
        if resuming, let resumed = try await resumedPut(request, size: size) {
            progress.bytes(done: size, total: size, final: true)
            return resumed
        }
        let outcome: Result<PutObjectResult, RolloutError>
        do {
            outcome = .success(try await upload(request, size: size, progress: progress))
        } catch {
            outcome = .failure(error)
        }
        // A precondition that failed on a write this call may have made itself: an earlier
        // attempt's request still on its way when the HEAD above looked (a killed daemon's PUT
        // that S3 finished later, or one that timed out here), or a retry after a response lost
        // on the way back. When the key now holds these very bytes, that write was this call's.
        if case .failure(let error) = outcome, error.code == .preconditionFailed,
           resuming || (error.data["upstream"]?["attempts"]?.int64Value ?? 1) > 1,
           let resumed = try await resumedPut(request, size: size)
        {
            progress.bytes(done: size, total: size, final: true)
            return resumed
        }
        return try outcome.get()
    }

    private func upload(_ request: PutObjectRequest, size: Int64, progress: ProgressReporter) async throws(RolloutError) -> PutObjectResult {

        var headers: [(name: String, value: String)] = []
        if let contentType = request.contentType { headers.append((name: "content-type", value: contentType)) }
        for (name, value) in request.metadata.sorted(by: { $0.key < $1.key })
        where !Self.internalMetadata.contains(name.lowercased()) {
            headers.append((name: "x-amz-meta-" + name.lowercased(), value: value))
        }
        var conditions: [(name: String, value: String)] = []
        if request.ifNoneMatch { conditions.append((name: "if-none-match", value: "*")) }
        if let ifMatch = request.ifMatch { conditions.append((name: "if-match", value: Self.quoted(ifMatch))) }

        if size <= multipartChunkBytes {
            // One chunk: its SHA-256 (read once; the send that follows reads the page cache)
            // is the payload hash and checksum, and the contentId is known before the PUT.
            let digest = try await S3Support.chunkDigestOffPool(source: request.source, offset: 0, length: size)
            var content = ContentID()
            content.append(chunkDigest: digest)
            let contentId = content.finalize()
            let body: HTTPRequestBody = switch request.source {
            case .bytes(let bytes): .bytes(bytes)
            case .file(let file): .file(file, offset: 0, length: size)
            }
            let etag = try await putSingle(
                key: request.key, body: body, digest: digest,
                headers: headers + [(name: "x-amz-meta-content-id", value: contentId)] + conditions, size: size, progress: progress
            )
            progress.bytes(done: size, total: size, final: true)
            return PutObjectResult(key: request.key, size: size, etag: etag, contentId: contentId, parts: 1)
        }
        let (etag, contentId, parts) = try await putMultipart(
            key: request.key, source: request.source, size: size,
            headers: headers + [(name: "x-amz-meta-" + Self.contentIdSchemeKey, value: Self.compositeScheme)],
            conditions: conditions, progress: progress
        )
        progress.bytes(done: size, total: size, final: true)
        return PutObjectResult(key: request.key, size: size, etag: etag, contentId: contentId, parts: parts)
    }

    /// Metadata names the store writes itself; a caller's own values for them are dropped.
    static let internalMetadata: Set<String> = ["content-id", contentIdSchemeKey]
    /// Metadata naming where a multipart object's contentId is kept.
    static let contentIdSchemeKey = "content-id-scheme"
    /// The contentId is S3's COMPOSITE SHA-256 checksum of the parts (SPEC §4.2).
    static let compositeScheme = "composite-sha256"

    private func putSingle(
        key: String, body: HTTPRequestBody, digest: [UInt8], headers: [(name: String, value: String)], size: Int64,
        progress: ProgressReporter
    ) async throws(RolloutError) -> String {
        let request = AWSRequest(
            operation: "PutObject", method: "PUT", path: objectPath(s3Key: fullKey(key)),
            headers: headers + Self.checksumHeaders(digest),
            body: body, payloadHash: .sha256(hex: digest.hexString)
        )
        var reporter: HTTPProgress?
        if progress.isActive {
            reporter = { @Sendable (sent: Int64, _: Int64) in progress.bytes(done: min(sent, size), total: size) }
        }
        let response = try await client.send(request, sink: .memory(limit: Self.xmlLimit), timeouts: Self.transferTimeouts, progress: reporter)
        return S3Support.unquote(response.header("etag") ?? "")
    }

    /// `x-amz-checksum-sha256` (S3 verifies the body against it) and the
    /// `x-amz-sdk-checksum-algorithm` botocore sends with it (some S3-compatible servers
    /// look at that to learn the algorithm).
    private static func checksumHeaders(_ digest: [UInt8]) -> [(name: String, value: String)] {
        [(name: "x-amz-sdk-checksum-algorithm", value: "SHA256"), (name: "x-amz-checksum-sha256", value: S3Support.base64(digest))]
    }

    private static let transferTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(3600), stall: .seconds(30))

    private static func quoted(_ etag: String) -> String {
        etag == "*" || etag.hasPrefix("\"") ? etag : "\"\(etag)\""
    }

    private struct UploadedPart: Sendable {
        var number: Int
        var etag: String
        var digest: [UInt8]
    }

    /// A multipart upload created with `ChecksumAlgorithm=SHA256`: each part carries its
    /// SHA-256 (``uploadParts(s3Key:uploadId:source:size:progress:)``), and the contentId, the
    /// SHA-256 over the part digests, is S3's COMPOSITE checksum of the object: S3 keeps it
    /// and returns it to `x-amz-checksum-mode: ENABLED` reads. Returns the etag, the
    /// contentId and the part count.
    private func putMultipart(
        key: String, source: ObjectSource, size: Int64,
        headers: [(name: String, value: String)], conditions: [(name: String, value: String)], progress: ProgressReporter
    ) async throws(RolloutError) -> (etag: String, contentId: String, parts: Int) {
        let s3Key = fullKey(key)
        let path = objectPath(s3Key: s3Key)
        let created = try await client.send(
            AWSRequest(
                operation: "CreateMultipartUpload", method: "POST", path: path, query: [(name: "uploads", value: "")],
                headers: headers + [(name: "x-amz-checksum-algorithm", value: "SHA256")]
            ),
            sink: .memory(limit: Self.xmlLimit)
        )
        guard let root = try? AWSXML.parse(created.body), let uploadId = root.childText("UploadId"), !uploadId.isEmpty else {
            await abortDetached(s3Key: s3Key, uploadId: nil)
            throw RolloutError(.unavailable, "s3 CreateMultipartUpload: the response has no UploadId")
        }
        do {
            do {
                try await journal.record(uploadId: uploadId, key: s3Key)
            } catch {
                throw RolloutError.internalError("could not journal the multipart upload: \(error)")
            }
            let parts = try await uploadParts(s3Key: s3Key, uploadId: uploadId, source: source, size: size, progress: progress)
            var content = ContentID()
            for part in parts { content.append(chunkDigest: part.digest) }
            let contentId = content.finalize()
            let etag = try await complete(
                key: key, uploadId: uploadId, parts: parts, conditions: conditions, contentId: contentId, size: size
            )
            try? await journal.clear(uploadId: uploadId)
            return (etag, contentId, parts.count)
        } catch {
            await abortDetached(s3Key: s3Key, uploadId: uploadId)
            if Task.isCancelled { throw RolloutError.cancelled }
            throw (error as? RolloutError) ?? .internalError("s3 multipart upload failed: \(error)")
        }
    }

    /// `CompleteMultipartUpload`; returns the object's etag.
    ///
    /// A lost response: S3 completed the upload, the connection broke before the answer
    /// arrived, and the retry finds the upload gone (`NoSuchUpload`). The object is then
    /// there, so NoSuchUpload is checked with a `HeadObject`: when the key holds an object with
    /// this upload's `content-id` and size, the put succeeded. Anything else (no object, other
    /// bytes, the HEAD failing) throws the NoSuchUpload error. ``AWSClient`` retries inside
    /// ``AWSClient/send(_:sink:timeouts:progress:)`` and does not say whether an earlier
    /// attempt reached S3, so a NoSuchUpload on the first attempt (the upload aborted by
    /// someone else) takes the same check: it passes only when the key already holds exactly
    /// these bytes, which is what the put asked for.
    private func complete(
        key: String, uploadId: String, parts: [UploadedPart], conditions: [(name: String, value: String)],
        contentId: String, size: Int64
    ) async throws(RolloutError) -> String {
        var xml = "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
        for part in parts {
            xml += "<Part><ETag>\(AWSXML.escape(Self.quoted(part.etag)))</ETag><ChecksumSHA256>\(S3Support.base64(part.digest))</ChecksumSHA256>"
            xml += "<PartNumber>\(part.number)</PartNumber></Part>"
        }
        xml += "</CompleteMultipartUpload>"
        let completed: HTTPResponse
        do {
            completed = try await client.send(
                AWSRequest(
                    operation: "CompleteMultipartUpload", method: "POST", path: objectPath(s3Key: fullKey(key)),
                    query: [(name: "uploadId", value: uploadId)],
                    headers: conditions + [(name: "content-type", value: "application/xml")], body: .bytes(Array(xml.utf8)),
                    detectsErrorInSuccessBody: true
                ),
                sink: .memory(limit: Self.xmlLimit), timeouts: Self.transferTimeouts
            )
        } catch {
            guard error.code == .notFound, error.data["upstream"]?["code"]?.stringValue == "NoSuchUpload",
                  let existing = await existingObject(key: key, contentId: contentId, size: size)
            else { throw error }
            return existing.etag
        }
        let etag = (try? AWSXML.parse(completed.body))?.childText("ETag") ?? completed.header("etag") ?? ""
        return S3Support.unquote(etag)
    }

    /// The result of a resumed keyed put whose object is already there: the key holds an
    /// object of `size` bytes whose contentId is the source's. Nil otherwise (upload it).
    private func resumedPut(_ request: PutObjectRequest, size: Int64) async throws(RolloutError) -> PutObjectResult? {
        guard let existing = try? await head(key: request.key), existing.size == size, existing.contentId != nil else {
            return nil
        }
        var content = ContentID()
        var offset: Int64 = 0
        var parts = 0
        repeat {
            let length = min(multipartChunkBytes, size - offset)
            content.append(chunkDigest: try await S3Support.chunkDigestOffPool(source: request.source, offset: offset, length: length))
            offset += length
            parts += 1
        } while offset < size
        let contentId = content.finalize()
        guard existing.contentId == contentId else { return nil }
        return PutObjectResult(key: request.key, size: size, etag: existing.etag, contentId: contentId, parts: parts)
    }

    /// The object at `key` when it holds exactly the bytes of `contentId` and `size` (HeadObject);
    /// nil when it is absent, holds other bytes, or the HEAD fails.
    func existingObject(key: String, contentId: String, size: Int64) async -> ObjectInfo? {
        guard let existing = try? await head(key: key), existing.contentId == contentId, existing.size == size else { return nil }
        return existing
    }

    private final class ByteCounter: Sendable {
        let value = Atomic<Int64>(0)
    }

    /// Set once the server has refused a part with a checksum trailer.
    private final class TrailerRefusal: Sendable {
        let value = Atomic<Bool>(false)
    }

    /// Uploads every part, `uploadConcurrency` at a time, and returns them in order. A part of
    /// a file is hashed while it is sent, its checksum in an `aws-chunked` trailer
    /// (``ChecksumTrailerBody``), when ``usesChecksumTrailer``; otherwise (and for bytes in
    /// memory) it is hashed off the cooperative pool just before it is sent.
    private func uploadParts(
        s3Key: String, uploadId: String, source: ObjectSource, size: Int64, progress: ProgressReporter
    ) async throws(RolloutError) -> [UploadedPart] {
        let path = objectPath(s3Key: s3Key)
        let chunk = multipartChunkBytes
        let partCount = Int((size + chunk - 1) / chunk)
        let done = ByteCounter()
        let client = self.client
        let streamsChecksum = usesChecksumTrailer
        let trailerRefused = self.trailerRefused
        /// Sends part `index` and returns its ETag and SHA-256.
        @Sendable func sendPart(_ index: Int, offset: Int64, length: Int64) async throws(RolloutError) -> (etag: String?, digest: [UInt8]) {
            let query = [(name: "partNumber", value: "\(index + 1)"), (name: "uploadId", value: uploadId)]
            if streamsChecksum, !trailerRefused.value.load(ordering: .relaxed), case .file(let file) = source {
                // Hashed as it is sent; the checksum goes in the trailer.
                let body = ChecksumTrailerBody(file: file, offset: offset, length: length)
                let request = AWSRequest(
                    operation: "UploadPart", method: "PUT", path: path, query: query, headers: body.headers,
                    body: .stream(body), payloadHash: .unsignedPayloadTrailer
                )
                do throws(RolloutError) {
                    let response = try await client.send(request, sink: .memory(limit: Self.xmlLimit), timeouts: Self.transferTimeouts)
                    guard let digest = body.digest else {
                        throw RolloutError.internalError("s3 UploadPart: part \(index + 1) was answered before its body was sent")
                    }
                    return (response.header("etag"), digest)
                } catch {
                    let upstream = error.data["upstream"]
                    guard upstream?["code"]?.stringValue == "NotImplemented" || upstream?["httpStatus"]?.int64Value == 501 else {
                        throw error
                    }
                    trailerRefused.value.store(true, ordering: .relaxed)
                }
            }
            // Hashed first (off the cooperative pool); the checksum and payload hash go in the
            // headers, and the body streams from the file (read again, from the page cache).
            let digest = try await S3Support.chunkDigestOffPool(source: source, offset: offset, length: length)
            let body: HTTPRequestBody = switch source {
            case .file(let file): .file(file, offset: offset, length: length)
            case .bytes(let bytes): .bytes(Array(bytes[Int(offset)..<Int(offset + length)]))
            }
            let request = AWSRequest(
                operation: "UploadPart", method: "PUT", path: path, query: query, headers: Self.checksumHeaders(digest),
                body: body, payloadHash: .sha256(hex: digest.hexString)
            )
            let response = try await client.send(request, sink: .memory(limit: Self.xmlLimit), timeouts: Self.transferTimeouts)
            return (response.header("etag"), digest)
        }
        do {
            return try await withThrowingTaskGroup(of: UploadedPart.self) { group in
                var next = 0
                var parts: [UploadedPart] = []
                func launch() {
                    let index = next
                    next += 1
                    let offset = Int64(index) * chunk
                    let length = min(chunk, size - offset)
                    group.addTask {
                        let (etag, digest) = try await sendPart(index, offset: offset, length: length)
                        guard let etag else {
                            throw RolloutError(.unavailable, "s3 UploadPart: part \(index + 1) has no ETag in the response")
                        }
                        let total = done.value.add(length, ordering: .relaxed).newValue
                        progress.bytes(done: total, total: size)
                        return UploadedPart(number: index + 1, etag: S3Support.unquote(etag), digest: digest)
                    }
                }
                while next < min(uploadConcurrency, partCount) { launch() }
                while let part = try await group.next() {
                    parts.append(part)
                    if next < partCount { launch() }
                }
                return parts.sorted { $0.number < $1.number }
            }
        } catch let error as RolloutError {
            throw error
        } catch {
            throw Task.isCancelled ? .cancelled : .internalError("s3 UploadPart failed: \(error)")
        }
    }

    /// Aborts the upload (when it has an id) and clears it from the journal, in a task that
    /// does not inherit the caller's cancellation.
    private func abortDetached(s3Key: String, uploadId: String?) async {
        guard let uploadId else { return }
        let store = self
        await Task {
            try? await store.abort(s3Key: s3Key, uploadId: uploadId)
        }.value
    }

    /// `AbortMultipartUpload`; NoSuchUpload counts as done. Clears the journal entry when the
    /// upload is gone.
    func abort(s3Key: String, uploadId: String) async throws {
        do {
            _ = try await client.send(
                AWSRequest(
                    operation: "AbortMultipartUpload", method: "DELETE", path: objectPath(s3Key: s3Key),
                    query: [(name: "uploadId", value: uploadId)]
                ),
                sink: .memory(limit: Self.xmlLimit)
            )
        } catch {
            // NoSuchUpload: already gone.
            guard error.code == .notFound else { throw error }
        }
        try await journal.clear(uploadId: uploadId)
    }

    /// Aborts every upload `journal` holds (startup: uploads left by a crash) and returns how
    /// many were aborted. An upload that cannot be aborted now stays journaled; the first
    /// error is thrown after trying them all.
    @discardableResult
    public func abortOrphans(journal: any UploadJournal) async throws -> Int {
        var aborted = 0
        var firstError: (any Error)?
        for entry in try await journal.pending() {
            do {
                do {
                    _ = try await client.send(
                        AWSRequest(
                            operation: "AbortMultipartUpload", method: "DELETE", path: objectPath(s3Key: entry.key),
                            query: [(name: "uploadId", value: entry.uploadId)]
                        ),
                        sink: .memory(limit: Self.xmlLimit)
                    )
                } catch {
                    // NoSuchUpload: completed or aborted already.
                    guard error.code == .notFound else { throw error }
                }
                try await journal.clear(uploadId: entry.uploadId)
                aborted += 1
            } catch {
                if firstError == nil { firstError = error }
            }
        }
        if let firstError { throw firstError }
        return aborted
    }

    // MARK: get, head, delete, list

    /// Reads an object (or a range of it) into memory or, through a temp file, into a file.
    public func get(_ request: GetObjectRequest, progress: ProgressReporter) async throws -> GetObjectResult {
        var headers: [(name: String, value: String)] = []
        if let range = request.range { headers.append((name: "range", value: "bytes=\(range.start)-\(range.end)")) }
        if let ifMatch = request.ifMatch { headers.append((name: "if-match", value: Self.quoted(ifMatch))) }
        headers.append(Self.checksumMode)
        let awsRequest = AWSRequest(operation: "GetObject", method: "GET", path: objectPath(s3Key: fullKey(request.key)), headers: headers)
        var reporter: HTTPProgress?
        if progress.isActive {
            reporter = { @Sendable (_: Int64, received: Int64) in progress.bytes(done: received, total: nil) }
        }
        switch request.destination {
        case .memory(let limit):
            let response: HTTPResponse
            do {
                response = try await client.send(
                    awsRequest, sink: .memory(limit: Int(clamping: limit)), timeouts: Self.transferTimeouts, progress: reporter
                )
            } catch {
                if error.code == .tooLarge {
                    throw RolloutError(.tooLarge, "object '\(request.key)' is larger than \(limit) bytes; get it with a path")
                }
                throw error
            }
            let info = objectInfo(key: request.key, response: response)
            progress.bytes(done: Int64(response.body.count), total: Int64(response.body.count), final: true)
            return GetObjectResult(info: info, data: response.body)
        case .file(let target):
            // Created and committed in the target's directory descriptor (opened beneath its
            // file root); dropped without a commit, the temp file is removed.
            let temporary: TemporaryFile
            do {
                temporary = try target.createTemporary()
            } catch {
                throw RolloutError(error, param: "path")
            }
            let response = try await client.send(awsRequest, sink: .file(temporary), timeouts: Self.transferTimeouts, progress: reporter)
            do {
                try temporary.commit()
            } catch {
                throw RolloutError(error, param: "path")
            }
            progress.bytes(done: response.bytesWritten, total: response.bytesWritten, final: true)
            return GetObjectResult(info: objectInfo(key: request.key, response: response), data: nil)
        }
    }

    /// Reads an object's metadata; NotFound when absent.
    public func head(key: String) async throws -> ObjectInfo {
        let response = try await client.send(
            AWSRequest(operation: "HeadObject", method: "HEAD", path: objectPath(s3Key: fullKey(key)), headers: [Self.checksumMode]),
            sink: .memory(limit: Self.xmlLimit)
        )
        return objectInfo(key: key, response: response)
    }

    /// Deletes an object; an absent one deletes successfully.
    public func delete(key: String) async throws {
        do {
            _ = try await client.send(
                AWSRequest(operation: "DeleteObject", method: "DELETE", path: objectPath(s3Key: fullKey(key))),
                sink: .memory(limit: Self.xmlLimit)
            )
        } catch {
            // S3 answers 204 for absent keys; tolerate a 404 from other servers.
            guard error.code == .notFound, error.data["upstream"]?["code"]?.stringValue != "NoSuchBucket" else { throw error }
        }
    }

    /// Lists objects under the store prefix + `prefix`, `limit` (1–1000) at a time; `cursor`
    /// is S3's continuation token.
    public func list(prefix: String?, cursor: String?, limit: Int) async throws -> ObjectListing {
        var query: [(name: String, value: String)] = [
            (name: "list-type", value: "2"), (name: "prefix", value: self.prefix + (prefix ?? "")),
            (name: "max-keys", value: "\(min(max(limit, 1), 1000))"),
        ]
        if let cursor { query.append((name: "continuation-token", value: cursor)) }
        let response = try await client.send(
            AWSRequest(operation: "ListObjectsV2", method: "GET", path: bucketPath, query: query),
            sink: .memory(limit: Self.xmlLimit)
        )
        let root: AWSXMLElement
        do {
            root = try AWSXML.parse(response.body)
        } catch {
            throw RolloutError(.unavailable, "s3 ListObjectsV2: unreadable response (\(error))")
        }
        var objects: [ObjectSummary] = []
        for entry in root.children("Contents") {
            guard let s3Key = entry.childText("Key"), s3Key.hasPrefix(self.prefix) else { continue }
            objects.append(
                ObjectSummary(
                    key: String(s3Key.dropFirst(self.prefix.count)), size: Int64(entry.childText("Size") ?? "") ?? 0,
                    etag: S3Support.unquote(entry.childText("ETag") ?? ""),
                    lastModified: S3Support.rfc3339(httpDate: entry.childText("LastModified") ?? "") ?? ""
                )
            )
        }
        let truncated = root.childText("IsTruncated") == "true"
        let next = truncated ? root.childText("NextContinuationToken") : nil
        return ObjectListing(objects: objects, cursor: next?.isEmpty == false ? next : nil)
    }

    /// Asks S3 to return the object's checksum (a multipart object's contentId). Ranged
    /// reads get no checksum from S3; their result has no contentId.
    static let checksumMode = (name: "x-amz-checksum-mode", value: "ENABLED")

    /// `base64` or `base64-N` (S3's composite form) → lowercase hex; nil when malformed.
    static func contentId(compositeChecksum: String) -> String? {
        var text = Substring(compositeChecksum)
        if let dash = text.lastIndex(of: "-"), text[text.index(after: dash)...].allSatisfy(\.isNumber) {
            text = text[..<dash]
        }
        guard let digest = S3Support.base64Decode(String(text)), digest.count == 32 else { return nil }
        return digest.hexString
    }

    /// Response headers → ``ObjectInfo``.
    func objectInfo(key: String, response: HTTPResponse) -> ObjectInfo {
        var size = Int64(response.header("content-length") ?? "") ?? Int64(response.body.count)
        if let range = response.header("content-range"), let slash = range.lastIndex(of: "/"),
           let total = Int64(range[range.index(after: slash)...])
        {
            size = total
        }
        var metadata: [String: String] = [:]
        var contentId: String?
        var scheme: String?
        for (name, value) in response.headers where name.hasPrefix("x-amz-meta-") {
            let metaName = String(name.dropFirst("x-amz-meta-".count))
            switch metaName {
            case "content-id": contentId = value
            case Self.contentIdSchemeKey: scheme = value
            default: metadata[metaName] = value
            }
        }
        if contentId == nil, scheme == Self.compositeScheme, let checksum = response.header("x-amz-checksum-sha256") {
            contentId = Self.contentId(compositeChecksum: checksum)
        }
        return ObjectInfo(
            key: key, size: size, etag: S3Support.unquote(response.header("etag") ?? ""), contentId: contentId,
            contentType: response.header("content-type"), metadata: metadata,
            lastModified: response.header("last-modified").flatMap(S3Support.rfc3339(httpDate:))
        )
    }
}
