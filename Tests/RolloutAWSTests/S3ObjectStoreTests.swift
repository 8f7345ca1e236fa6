import AWSConfig
import CurlHTTP
import Glibc
@testable import RolloutAWS
import RolloutCore
import RolloutTestSupport
import Synchronization
import Testing

/// Runs `python3 tests/s3/seed_bucket.py URL` with `operations` on stdin (boto3, an
/// independent client) and returns the JSON array it printed.
func s3TestBoto(endpoint: String, _ operations: [JSONValue]) async throws -> [JSONValue] {
    let result = try await awsTestRunPython(
        "tests/s3/seed_bucket.py", arguments: [endpoint], input: .array(operations), log: "/tmp/rolloutd-s3test-boto.log"
    )
    guard let results = result.arrayValue else {
        throw AWSTestProcessError(description: "seed_bucket.py printed no array")
    }
    return results
}

/// A scratch directory under /tmp, removed by ``remove()``.
struct S3TestDirectory {
    let path: String

    init() throws {
        var template = Array("/tmp/rolloutd-s3test-XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw AWSTestProcessError(description: "mkdtemp failed")
        }
        path = String(cString: made)
    }

    /// Writes `size` bytes of a deterministic, non-repeating-looking pattern and returns the path.
    func writeFile(_ name: String, size: Int, seed: UInt8 = 7) throws -> String {
        let file = path + "/" + name
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AWSTestProcessError(description: "cannot create \(file)") }
        defer { close(fd) }
        // xorshift64, eight bytes a step through a raw pointer: tests are built unoptimised, and a
        // byte-at-a-time loop over 12 MiB held a cooperative-pool thread for about a second.
        var block = [UInt64](repeating: 0, count: (1 << 20) / 8)
        var written = 0
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &+ UInt64(seed)
        while written < size {
            let count = min(block.count * 8, size - written)
            block.withUnsafeMutableBufferPointer { words in
                guard let base = words.baseAddress else { return }
                for index in 0..<(count + 7) / 8 {
                    state ^= state << 13
                    state ^= state >> 7
                    state ^= state << 17
                    base[index] = state
                }
            }
            let done = block.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, count) }
            guard done == count else { throw AWSTestProcessError(description: "short write") }
            written += count
        }
        return file
    }

    func remove() {
        removeTree(path)
    }

    /// The hex SHA-256 of each consecutive `chunk`-byte slice of `file` (an empty file is one
    /// empty chunk) and the contentId over them, computed by Python's hashlib: a reference
    /// independent of our libcrypto wrapper.
    /// Runs Python off the cooperative pool: reading its pipe there held both of the pool's
    /// threads on a 2-core machine for seconds, stalling every other test's timers.
    func referenceDigests(of file: String, chunk: Int) async throws -> (digests: [String], contentId: String) {
        let directory = self
        return try await awsTestOffPool { try directory.referenceDigestsBlocking(of: file, chunk: chunk) }
    }

    /// ``referenceDigests(of:chunk:)`` for code already off the pool.
    func referenceDigestsBlocking(of file: String, chunk: Int) throws -> (digests: [String], contentId: String) {
        let script = path + "/reference_digests.py"
        let source = """
            import hashlib, sys
            digests = []
            with open(sys.argv[1], "rb") as f:
                while True:
                    block = f.read(int(sys.argv[2]))
                    if not block and digests:
                        break
                    digests.append(hashlib.sha256(block).digest())
                    if not block:
                        break
            print(" ".join(d.hex() for d in digests))
            print(hashlib.sha256(b"".join(digests)).hexdigest())

            """
        let fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AWSTestProcessError(description: "cannot create \(script)") }
        _ = source.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        guard let pipe = popen("python3 '\(script)' '\(file)' \(chunk)", "r") else {
            throw AWSTestProcessError(description: "popen failed")
        }
        var output: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, pipe)
            if count <= 0 { break }
            output += buffer[0..<count]
        }
        pclose(pipe)
        let lines = String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init)
        guard lines.count == 2 else { throw AWSTestProcessError(description: "reference_digests.py printed \(lines)") }
        return (lines[0].split(separator: " ").map(String.init), lines[1])
    }
}

/// Lowercase hex.
func s3TestHex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] }, as: UTF8.self)
}

/// Moto (shared), optionally behind a fault proxy; one bucket per test.
struct S3Fixture {
    static let chunk: Int64 = 5 << 20
    let moto: AWSTestMoto
    let proxy: AWSTestFaultProxy?
    let bucket: String
    let journal = InMemoryUploadJournal()

    init(bucket: String, proxyArguments: [String]? = nil) async throws {
        let moto = try await AWSTestMoto.get()
        self.moto = moto
        if let proxyArguments {
            proxy = try await AWSTestFaultProxy(target: moto.url, arguments: proxyArguments)
        } else {
            proxy = nil
        }
        self.bucket = bucket
        _ = try await boto([["op": "createBucket", "bucket": .string(bucket)]])
    }

    func store(prefix: String = "app/", concurrency: Int = 4, maxAttempts: Int = 3, maxObjectBytes: Int64 = 1 << 30) throws -> S3ObjectStore {
        let client = try AWSClient(
            service: .s3, endpointURL: proxy?.url ?? moto.url, region: "us-east-1", credentials: awsTestCredentials,
            http: CurlHTTPClient(), retryPolicy: .standard(maxAttempts: maxAttempts),
            environment: AWSTestSleepRecorder(cap: .milliseconds(5)).environment(jitter: 0.5, wallClock: 1_700_000_000)
        )
        return S3ObjectStore(
            client: client, bucket: bucket, prefix: prefix, forcePathStyle: false, multipartChunkBytes: Self.chunk,
            maxObjectBytes: maxObjectBytes, uploadConcurrency: concurrency, journal: journal
        )
    }

    /// boto3 against moto directly (never through the proxy).
    func boto(_ operations: [JSONValue]) async throws -> [JSONValue] {
        try await s3TestBoto(endpoint: moto.url, operations)
    }

    /// The object's SHA-256 checksum as boto3 reads it (`ChecksumMode=ENABLED`), the
    /// `base64` or `base64-N` form decoded to lowercase hex.
    func compositeChecksumHex(_ key: String) async throws -> String? {
        let head = try await boto([["op": "head", "bucket": .string(bucket), "key": .string(key)]])[0]
        guard var text = head["checksumSHA256"]?.stringValue else { return nil }
        if let dash = text.lastIndex(of: "-") { text = String(text[..<dash]) }
        return S3Support.base64Decode(text).map(s3TestHex)
    }

    func get(_ key: String, compareFile: String? = nil) async throws -> JSONValue {
        var op: JSONObject = ["op": "get", "bucket": .string(bucket), "key": .string(key), "chunkBytes": .number(JSONNumber(Self.chunk))]
        if let compareFile { op["compareFile"] = .string(compareFile) }
        return try await boto([.object(op)])[0]
    }

    func uploads() async throws -> [JSONValue] {
        try await boto([["op": "uploads", "bucket": .string(bucket)]])[0].arrayValue ?? []
    }

    func exists(_ key: String) async throws -> Bool {
        try await boto([["op": "exists", "bucket": .string(bucket), "key": .string(key)]])[0].boolValue ?? false
    }

    func stop() {
        proxy?.stop()
    }
}

/// Collects progress reports; `firstReport` resumes on the first one.
final class S3TestProgress: Sendable {
    private let reports = Mutex<[Int64]>([])
    let stream: AsyncStream<Int64>
    private let continuation: AsyncStream<Int64>.Continuation

    init() {
        (stream, continuation) = AsyncStream<Int64>.makeStream()
    }

    var reporter: ProgressReporter {
        ProgressReporter { fields, _ in
            let done = fields["bytesDone"]?.int64Value ?? -1
            self.reports.withLock { $0.append(done) }
            self.continuation.yield(done)
        }
    }

    var values: [Int64] {
        reports.withLock { $0 }
    }
}

@Suite("S3ObjectStore against moto", .serialized)
struct S3ObjectStoreTests {
    @Test("single PutObject: boto3 reads the same bytes, content-id metadata, a SHA-256 checksum")
    func singlePut() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-single")
        let store = try fixture.store()
        let text = "hello, rolloutd + S3 / single part"
        let result = try await store.put(
            PutObjectRequest(key: "dir/hello world+1.txt", source: .bytes(Array(text.utf8)), contentType: "text/plain", metadata: ["Owner": "team-a"]),
            progress: .none
        )
        #expect(result.parts == 1 && result.size == Int64(text.utf8.count))
        #expect(!result.etag.contains("\"") && result.etag.count == 32)
        let read = try await fixture.get("app/dir/hello world+1.txt")
        #expect(read["text"]?.stringValue == text)
        #expect(read["contentType"]?.stringValue == "text/plain")
        #expect(read["metadata"]?["content-id"]?.stringValue == result.contentId)
        #expect(read["metadata"]?["owner"]?.stringValue == "team-a")
        #expect(read["contentId"]?.stringValue == result.contentId, "contentId matches an independent computation")
        let head = try await fixture.boto([["op": "head", "bucket": .string(fixture.bucket), "key": "app/dir/hello world+1.txt"]])[0]
        #expect((head["checksumSHA256"]?.stringValue ?? "").count == 44, "a base64 SHA-256 checksum")

        let info = try await store.head(key: "dir/hello world+1.txt")
        #expect(info.size == result.size && info.etag == result.etag && info.contentId == result.contentId)
        #expect(info.metadata == ["owner": "team-a"] && info.contentType == "text/plain")
        #expect(info.lastModified?.hasSuffix("Z") == true && info.lastModified?.count == 20)
    }

    @Test("multipart put of a 12 MiB file: 3 parts, same bytes, independent contentId, progress")
    func multipartPut() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-multipart")
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("big.bin", size: 12 << 20)
        let store = try fixture.store()
        let progress = S3TestProgress()
        let result = try await store.put(
            PutObjectRequest(key: "big.bin", source: .file(path: file), metadata: ["k": "v"]), progress: progress.reporter
        )
        #expect(result.parts == 3 && result.size == 12 << 20)
        #expect(result.etag.hasSuffix("-3") && !result.etag.contains("\""))
        let read = try await fixture.get("app/big.bin", compareFile: file)
        #expect(read["sameAsFile"]?.boolValue == true)
        #expect(read["contentId"]?.stringValue == result.contentId)
        // A multipart object's contentId is S3's COMPOSITE checksum of its parts (SPEC §4.2).
        await #expect(try fixture.compositeChecksumHex("app/big.bin") == result.contentId)
        #expect(try await store.head(key: "big.bin").contentId == result.contentId)
        let part = try await fixture.boto([["op": "head", "bucket": .string(fixture.bucket), "key": "app/big.bin", "partNumber": 1]])[0]
        #expect(part["partsCount"]?.int64Value == 3)
        await #expect(try fixture.uploads().isEmpty)
        #expect(await fixture.journal.pending().isEmpty)
        #expect(progress.values.last == 12 << 20)

        // Uploading the same bytes again gives the same contentId.
        let sameBytes = try await store.put(
            PutObjectRequest(key: "big-copy.bin", source: .file(path: file)), progress: .none
        )
        #expect(sameBytes.contentId == result.contentId)
    }

    @Test(
        "contentId of 0 bytes, 1 byte, exactly one chunk, one chunk + 1 and many chunks matches Python's, and S3's composite checksum",
        arguments: [0, 1, Int(S3Fixture.chunk), Int(S3Fixture.chunk) + 1, 3 * Int(S3Fixture.chunk) + 12_345], [true, false]
    )
    func contentIdBySize(size: Int, checksumTrailer: Bool) async throws {
        let fixture = try await S3Fixture(bucket: "s3store-cid-\(size)-\(checksumTrailer)")
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("f.bin", size: size, seed: UInt8(truncatingIfNeeded: size))
        let reference = try await directory.referenceDigests(of: file, chunk: Int(S3Fixture.chunk))
        var store = try fixture.store()
        #expect(store.usesChecksumTrailer, "moto is on loopback")
        // Without: parts hashed first, the payload hash signed (plain http to another host).
        store.usesChecksumTrailer = checksumTrailer
        let result = try await store.put(PutObjectRequest(key: "f.bin", source: .file(path: file)), progress: .none)
        #expect(result.contentId == reference.contentId && result.parts == reference.digests.count)
        #expect(try await store.head(key: "f.bin").contentId == reference.contentId)
        let read = try await fixture.get("app/f.bin", compareFile: file)
        #expect(read["sameAsFile"]?.boolValue == true)
        #expect(read["contentId"]?.stringValue == reference.contentId)
        if result.parts > 1 {
            await #expect(try fixture.compositeChecksumHex("app/f.bin") == reference.contentId)
        }
    }

    @Test("TooLarge before any request; ifNoneMatch on an existing key is PreconditionFailed")
    func conditionsAndLimits() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-conditions", proxyArguments: [])
        defer { fixture.stop() }
        let store = try fixture.store(maxObjectBytes: 10)
        do {
            _ = try await store.put(PutObjectRequest(key: "big", source: .bytes(Array(repeating: 1, count: 11))), progress: .none)
            Issue.record("accepted an object over the limit")
        } catch let error as RolloutError {
            #expect(error.code == .tooLarge)
        }
        #expect(try await fixture.proxy!.total() == 0)
        let first = try await store.put(PutObjectRequest(key: "once", source: .bytes([1, 2, 3]), ifNoneMatch: true), progress: .none)
        do {
            _ = try await store.put(PutObjectRequest(key: "once", source: .bytes([4]), ifNoneMatch: true), progress: .none)
            Issue.record("overwrote an existing key")
        } catch let error as RolloutError {
            #expect(error.code == .preconditionFailed)
            #expect(error.upstream("httpStatus")?.int64Value == 412)
        }
        let info = try await store.head(key: "once")
        #expect(info.etag == first.etag && info.size == 3)
        do {
            _ = try await store.head(key: "absent")
            Issue.record("head of an absent key succeeded")
        } catch let error as RolloutError {
            #expect(error.code == .notFound)
        }
    }

    @Test("range get, get into memory, get to a file leaves no temp files")
    func gets() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-get")
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        _ = try await fixture.boto([["op": "put", "bucket": .string(fixture.bucket), "key": "app/letters", "text": "abcdefghijklmnopqrstuvwxyz"]])
        let store = try fixture.store()
        let ranged = try await store.get(GetObjectRequest(key: "letters", range: ByteRange(start: 2, end: 5), destination: .memory(limit: 1 << 20)), progress: .none)
        #expect(ranged.data == Array("cdef".utf8))
        #expect(ranged.info.size == 26, "the size of the whole object, from Content-Range")
        let whole = try await store.get(GetObjectRequest(key: "letters", destination: .memory(limit: 1 << 20)), progress: .none)
        #expect(whole.data == Array("abcdefghijklmnopqrstuvwxyz".utf8) && whole.info.contentId == nil)
        do {
            _ = try await store.get(GetObjectRequest(key: "letters", destination: .memory(limit: 10)), progress: .none)
            Issue.record("a body over the memory limit was returned")
        } catch let error as RolloutError {
            #expect(error.code == .tooLarge)
        }
        do {
            _ = try await store.get(GetObjectRequest(key: "letters", ifMatch: "0123", destination: .memory(limit: 1 << 20)), progress: .none)
            Issue.record("ifMatch with a wrong etag succeeded")
        } catch let error as RolloutError {
            #expect(error.code == .preconditionFailed)
        }

        let target = directory.path + "/out.txt"
        let toFile = try await store.get(GetObjectRequest(key: "letters", ifMatch: whole.info.etag, destination: .file(path: target)), progress: .none)
        #expect(toFile.data == nil && toFile.info.size == 26)
        let listing = try await fixture.boto([["op": "listdir", "path": .string(directory.path)]])[0]
        #expect(listing == ["out.txt"])
        do {
            _ = try await store.get(GetObjectRequest(key: "missing", destination: .file(path: directory.path + "/missing.txt")), progress: .none)
            Issue.record("an absent key was read")
        } catch let error as RolloutError {
            #expect(error.code == .notFound)
        }
        let after = try await fixture.boto([["op": "listdir", "path": .string(directory.path)]])[0]
        #expect(after == ["out.txt"], "no temp file left behind by the failure")
    }

    @Test("list pages with a cursor, honours the prefix and never shows keys outside the store prefix; delete")
    func listAndDelete() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-list")
        var seeds: [JSONValue] = []
        for index in 0..<5 {
            seeds.append(["op": "put", "bucket": .string(fixture.bucket), "key": .string("app/logs/\(index).txt"), "text": "x"])
        }
        seeds.append(["op": "put", "bucket": .string(fixture.bucket), "key": "app/other.txt", "text": "y"])
        seeds.append(["op": "put", "bucket": .string(fixture.bucket), "key": "outside/logs/9.txt", "text": "z"])
        seeds.append(["op": "put", "bucket": .string(fixture.bucket), "key": "apple.txt", "text": "z"])
        _ = try await fixture.boto(seeds)
        let store = try fixture.store(prefix: "app")
        var keys: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await store.list(prefix: "logs/", cursor: cursor, limit: 2)
            keys += page.objects.map(\.key)
            #expect(page.objects.allSatisfy { $0.size == 1 && !$0.etag.contains("\"") && $0.lastModified.hasSuffix("Z") })
            cursor = page.cursor
            pages += 1
        } while cursor != nil && pages < 10
        #expect(keys == (0..<5).map { "logs/\($0).txt" })
        #expect(pages == 3)
        let all = try await store.list(prefix: nil, cursor: nil, limit: 1000)
        #expect(all.objects.map(\.key) == (0..<5).map { "logs/\($0).txt" } + ["other.txt"])
        #expect(all.cursor == nil)

        try await store.delete(key: "other.txt")
        try await store.delete(key: "other.txt")
        await #expect(try !fixture.exists("app/other.txt"))
        await #expect(try fixture.exists("apple.txt"))
    }

    @Test("cancelling a multipart upload after the first part aborts it: no upload, no object, journal empty")
    func cancelMidway() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-cancel", proxyArguments: ["--delay-ms", "400"])
        defer { fixture.stop() }
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("big.bin", size: 12 << 20)
        let store = try fixture.store(concurrency: 1)
        let progress = S3TestProgress()
        let reporter = progress.reporter
        let task = Task {
            try await store.put(PutObjectRequest(key: "cancelled.bin", source: .file(path: file)), progress: reporter)
        }
        var iterator = progress.stream.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first == S3Fixture.chunk)
        task.cancel()
        let outcome = await task.result
        switch outcome {
        case .success:
            Issue.record("the cancelled upload completed")
        case .failure(let error):
            #expect((error as? RolloutError)?.code == .requestCancelled)
        }
        await #expect(try fixture.uploads().isEmpty)
        await #expect(try !fixture.exists("app/cancelled.bin"))
        #expect(await fixture.journal.pending().isEmpty)
    }

    @Test("abortOrphans aborts every journaled upload")
    func orphans() async throws {
        let fixture = try await S3Fixture(bucket: "s3store-orphans")
        let uploadId = try await fixture.boto([["op": "createUpload", "bucket": .string(fixture.bucket), "key": "app/crashed.bin"]])[0].stringValue ?? ""
        await #expect(try fixture.uploads().count == 1)
        let journal = InMemoryUploadJournal()
        await journal.record(uploadId: uploadId, key: "app/crashed.bin")
        let store = try fixture.store()
        #expect(try await store.abortOrphans(journal: journal) == 1)
        await #expect(try fixture.uploads().isEmpty)
        #expect(await journal.pending().isEmpty)
    }

    @Test("SlowDown and resets on UploadPart: the upload still succeeds with the same bytes and contentId")
    func faultyParts() async throws {
        let fixture = try await S3Fixture(
            bucket: "s3store-faults",
            proxyArguments: ["--slowdown", "0.3", "--reset", "0.2", "--seed", "11", "--only-path-regex", "^PUT .*[?&]partNumber="]
        )
        defer { fixture.stop() }
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("big.bin", size: 12 << 20, seed: 3)
        let store = try fixture.store(maxAttempts: 10)
        let result = try await store.put(PutObjectRequest(key: "faulty.bin", source: .file(path: file)), progress: .none)
        let stats = try await fixture.proxy!.stats()
        let injected = (stats["injected"]?["slowdown"]?.int64Value ?? 0) + (stats["injected"]?["reset"]?.int64Value ?? 0)
        #expect(injected > 0, "faults were injected")
        #expect(result.parts == 3)
        let read = try await fixture.get("app/faulty.bin", compareFile: file)
        #expect(read["sameAsFile"]?.boolValue == true)
        #expect(read["contentId"]?.stringValue == result.contentId)
        await #expect(try fixture.uploads().isEmpty)
    }

    @Test("CompleteMultipartUpload done by S3 but its response lost: the retry's NoSuchUpload is checked with a HEAD and accepted")
    func lostCompleteResponse() async throws {
        let fixture = try await S3Fixture(
            bucket: "s3store-lost-complete",
            // moto answers a repeated Complete as if it were the first; S3 may answer NoSuchUpload.
            proxyArguments: ["--drop-response-regex", "^POST .*[?&]uploadId=", "--then-no-such-upload"]
        )
        defer { fixture.stop() }
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("big.bin", size: 12 << 20, seed: 5)
        let store = try fixture.store()
        let result = try await store.put(PutObjectRequest(key: "lost.bin", source: .file(path: file)), progress: .none)
        let stats = try await fixture.proxy!.stats()
        #expect(stats["droppedResponses"]?.int64Value == 1, "moto completed the upload and its answer was dropped")
        #expect(stats["noSuchUploadAnswers"]?.int64Value == 1, "the retried Complete got NoSuchUpload")
        #expect(stats["byMethodPath"]?["HEAD /s3store-lost-complete/app/lost.bin"]?.int64Value == 1)
        #expect(result.parts == 3 && result.size == 12 << 20)
        #expect(result.contentId == (try await directory.referenceDigests(of: file, chunk: Int(S3Fixture.chunk)).contentId))
        #expect(result.etag.hasSuffix("-3") && !result.etag.contains("\""))
        let read = try await fixture.get("app/lost.bin", compareFile: file)
        #expect(read["sameAsFile"]?.boolValue == true)
        await #expect(try fixture.compositeChecksumHex("app/lost.bin") == result.contentId)
        await #expect(try fixture.uploads().isEmpty)
        #expect(await fixture.journal.pending().isEmpty)
    }
}

/// Every chunk of `size` bytes hashed with ``S3Support/chunkDigestOffPool(source:offset:length:)``.
private func chunkDigests(_ source: ObjectSource, size: Int, chunk: Int) async throws(RolloutError) -> [[UInt8]] {
    var digests: [[UInt8]] = []
    var offset = 0
    repeat {
        let length = min(chunk, size - offset)
        digests.append(try await S3Support.chunkDigestOffPool(source: source, offset: Int64(offset), length: Int64(length)))
        offset += length
    } while offset < size
    return digests
}

@Suite("S3 chunk hashing: off the cooperative pool")
struct S3ChunkHashingTests {
    static let chunk = 300_007  // more than one 256 KiB read buffer, and odd

    @Test(
        "file and in-memory sources give Python's digests in chunk order",
        arguments: [0, 1, chunk - 1, chunk, chunk + 1, 7 * chunk + 12_345]
    )
    func digestsMatchReference(size: Int) async throws {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("data.bin", size: size, seed: UInt8(truncatingIfNeeded: size))
        let reference = try await directory.referenceDigests(of: file, chunk: Self.chunk)
        let fd = open(file, O_RDONLY | O_CLOEXEC)
        var bytes = [UInt8](repeating: 0, count: size)
        #expect(bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, size) } == size)
        close(fd)
        for source in [try ObjectSource.file(path: file), .bytes(bytes)] {
            let digests = try await chunkDigests(source, size: size, chunk: Self.chunk)
            #expect(digests.map(s3TestHex) == reference.digests, "\(source)")
        }
    }

    @Test("a file shorter than its expected size fails instead of hashing what is there")
    func shrunkFile() async throws {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("short.bin", size: 1000)
        do {
            _ = try await chunkDigests(.file(path: file), size: 3 * 1000, chunk: 1000)
            Issue.record("hashed a file that shrank")
        } catch {
            #expect(error.code == .internalError && error.message.contains("changed while it was being read"))
        }
    }

    @Test("a cancelled task stops hashing with RequestCancelled")
    func cancelled() async throws {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("data.bin", size: 4 * Self.chunk)
        let task = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            return try await chunkDigests(.file(path: file), size: 4 * Self.chunk, chunk: Self.chunk)
        }
        let outcome = await task.result
        #expect(throws: RolloutError.cancelled) { try outcome.get() }
    }
}

@Suite("S3ObjectStore addressing and failures (scripted HTTP)")
struct S3ObjectStoreScriptedTests {
    func store(endpoint: String, bucket: String = "my-bucket", forcePathStyle: Bool = false, http: AWSTestScriptedHTTP) throws -> S3ObjectStore {
        let client = try AWSClient(
            service: .s3, endpointURL: endpoint, region: "us-east-1", credentials: awsTestCredentials, http: http,
            retryPolicy: .standard(maxAttempts: 1), environment: AWSTestSleepRecorder().environment()
        )
        return S3ObjectStore(
            client: client, bucket: bucket, prefix: "p", forcePathStyle: forcePathStyle, multipartChunkBytes: 5 << 20,
            maxObjectBytes: 1 << 50, uploadConcurrency: 1, journal: InMemoryUploadJournal()
        )
    }

    static let ok = HTTPResponse(status: 200, headers: [(name: "etag", value: "\"abc\"")], body: [])

    @Test("path-style unless the client's endpoint is the bucket's virtual host; keys are encoded, not normalized")
    func addressing() async throws {
        let pathHTTP = AWSTestScriptedHTTP([], fallback: .success(Self.ok))
        let pathStyle = try store(endpoint: "http://127.0.0.1:9000", http: pathHTTP)
        #expect(pathStyle.usesPathStyle)
        _ = try await pathStyle.put(PutObjectRequest(key: "a b+c//d", source: .bytes([1])), progress: .none)
        #expect(pathHTTP.requests.first?.url == "http://127.0.0.1:9000/my-bucket/p/a%20b%2Bc//d")
        let headers = pathHTTP.requests.first?.headers ?? []
        #expect(headers.contains { $0.name.lowercased() == "x-amz-checksum-sha256" && $0.value.count == 44 })
        #expect(headers.contains { $0.name.lowercased() == "x-amz-meta-content-id" && $0.value.count == 64 })

        let virtualHTTP = AWSTestScriptedHTTP([], fallback: .success(Self.ok))
        let virtual = try store(endpoint: "https://my-bucket.s3.us-east-1.amazonaws.com", http: virtualHTTP)
        #expect(!virtual.usesPathStyle)
        _ = try await virtual.put(PutObjectRequest(key: "k", source: .bytes([1])), progress: .none)
        #expect(virtualHTTP.requests.first?.url == "https://my-bucket.s3.us-east-1.amazonaws.com/p/k")

        let http = AWSTestScriptedHTTP([], fallback: .success(Self.ok))
        #expect(try store(endpoint: "https://my-bucket.s3.us-east-1.amazonaws.com", forcePathStyle: true, http: http).usesPathStyle)
        #expect(try store(endpoint: "https://s3.us-east-1.amazonaws.com", http: http).usesPathStyle)
        #expect(try store(endpoint: "https://My_Bucket.s3.amazonaws.com", bucket: "My_Bucket", http: http).usesPathStyle)
    }

    @Test("more than 10,000 parts is TooLarge before any request (a sparse file: nothing is read)")
    func tooManyParts() async throws {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = directory.path + "/sparse.bin"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        #expect(fd >= 0 && ftruncate(fd, (5 << 20) * 10_000 + 1) == 0)
        close(fd)
        let http = AWSTestScriptedHTTP([], fallback: .success(Self.ok))
        let store = try store(endpoint: "http://127.0.0.1:9000", http: http)
        do {
            _ = try await store.put(PutObjectRequest(key: "huge", source: .file(path: file)), progress: .none)
            Issue.record("accepted 10,001 parts")
        } catch let error as RolloutError {
            #expect(error.code == .tooLarge && error.message.contains("multipart_chunk_bytes"))
        }
        #expect(http.requests.isEmpty)
    }

    @Test("CompleteMultipartUpload answering 200 with an <Error> body fails and aborts the upload")
    func completeErrorBody() async throws {
        let created = HTTPResponse(
            status: 200, headers: [],
            body: Array("<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>".utf8)
        )
        let errorBody = HTTPResponse(
            status: 200, headers: [], body: Array("<Error><Code>InternalError</Code><Message>m</Message></Error>".utf8)
        )
        let http = AWSTestScriptedHTTP(
            [.success(created), .success(Self.ok), .success(Self.ok), .success(errorBody)],
            fallback: .success(HTTPResponse(status: 204, headers: [], body: []))
        )
        let store = try store(endpoint: "http://127.0.0.1:9000", http: http)
        do {
            _ = try await store.put(PutObjectRequest(key: "big", source: .bytes(Array(repeating: 7, count: 6 << 20))), progress: .none)
            Issue.record("the upload succeeded")
        } catch let error as RolloutError {
            #expect(error.code == .unavailable)
        }
        let calls = http.requests.map { "\($0.method) \($0.url.split(separator: "?").last.map(String.init) ?? "")" }
        #expect(calls == [
            "POST uploads=", "PUT partNumber=1&uploadId=up-1", "PUT partNumber=2&uploadId=up-1", "POST uploadId=up-1",
            "DELETE uploadId=up-1",
        ])
        #expect(await (store.journal as? InMemoryUploadJournal)?.pending().isEmpty == true)
    }

    /// A 6 MiB upload in two parts whose CompleteMultipartUpload loses its response (a
    /// connection reset) and whose retry answers NoSuchUpload; the HEAD that follows answers
    /// `head`. Returns the outcome, the calls made (method and query) and whether the journal
    /// is empty.
    func lostComplete(
        head: Result<HTTPResponse, HTTPError>
    ) async throws -> (outcome: Result<PutObjectResult, any Error>, calls: [String], journalEmpty: Bool) {
        let created = HTTPResponse(
            status: 200, headers: [],
            body: Array("<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>".utf8)
        )
        let http = AWSTestScriptedHTTP(
            [
                .success(created), .success(Self.ok), .success(Self.ok), .failure(HTTPError(.io, "Connection reset by peer")),
                awsTestXMLError(404, "NoSuchUpload"), head,
            ],
            fallback: .success(HTTPResponse(status: 204, headers: [], body: []))
        )
        let client = try AWSClient(
            service: .s3, endpointURL: "http://127.0.0.1:9000", region: "us-east-1", credentials: awsTestCredentials, http: http,
            retryPolicy: .standard(maxAttempts: 3), environment: AWSTestSleepRecorder().environment()
        )
        let journal = InMemoryUploadJournal()
        let store = S3ObjectStore(
            client: client, bucket: "my-bucket", prefix: "p", forcePathStyle: false, multipartChunkBytes: 5 << 20,
            maxObjectBytes: 1 << 50, uploadConcurrency: 1, journal: journal
        )
        let outcome: Result<PutObjectResult, any Error>
        do {
            outcome = .success(
                try await store.put(PutObjectRequest(key: "big", source: .bytes(Self.sixMiB)), progress: .none)
            )
        } catch {
            outcome = .failure(error)
        }
        let calls = http.requests.map { "\($0.method) \($0.url.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? "")" }
        return (outcome, calls, await journal.pending().isEmpty)
    }

    static let sixMiB = [UInt8](repeating: 7, count: 6 << 20)

    /// The contentId of ``sixMiB`` in 5 MiB chunks, by Python's hashlib.
    func sixMiBContentId() async throws -> String {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = directory.path + "/six.bin"
        let fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        _ = Self.sixMiB.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        return try await directory.referenceDigests(of: file, chunk: 5 << 20).contentId
    }

    @Test("a retried Complete answering NoSuchUpload is a success when HEAD shows our content-id and size")
    func lostCompleteAccepted() async throws {
        let contentId = try await sixMiBContentId()
        let head = HTTPResponse(
            status: 200,
            headers: [
                (name: "etag", value: "\"0123abcd-2\""), (name: "content-length", value: "\(6 << 20)"),
                (name: "x-amz-meta-content-id", value: contentId),
            ],
            body: []
        )
        let (outcome, calls, journalEmpty) = try await lostComplete(head: .success(head))
        let result = try outcome.get()
        #expect(result.contentId == contentId && result.etag == "0123abcd-2" && result.size == 6 << 20 && result.parts == 2)
        #expect(calls == [
            "POST uploads=", "PUT partNumber=1&uploadId=up-1", "PUT partNumber=2&uploadId=up-1", "POST uploadId=up-1",
            "POST uploadId=up-1", "HEAD ",
        ])
        #expect(journalEmpty)
    }

    @Test(
        "a retried Complete answering NoSuchUpload stays an error when HEAD shows other bytes or no object",
        arguments: ["other content-id", "other size", "no object"]
    )
    func lostCompleteRejected(mismatch: String) async throws {
        let contentId = try await sixMiBContentId()
        let head: Result<HTTPResponse, HTTPError> = switch mismatch {
        case "other content-id":
            .success(HTTPResponse(status: 200, headers: [
                (name: "etag", value: "\"e-2\""), (name: "content-length", value: "\(6 << 20)"),
                (name: "x-amz-meta-content-id", value: String(repeating: "0", count: 64)),
            ], body: []))
        case "other size":
            .success(HTTPResponse(status: 200, headers: [
                (name: "etag", value: "\"e-2\""), (name: "content-length", value: "\((6 << 20) + 1)"),
                (name: "x-amz-meta-content-id", value: contentId),
            ], body: []))
        default:
            .success(HTTPResponse(status: 404, headers: [], body: []))
        }
        let (outcome, calls, journalEmpty) = try await lostComplete(head: head)
        switch outcome {
        case .success:
            Issue.record("accepted a NoSuchUpload with \(mismatch)")
        case .failure(let error):
            let error = try #require(error as? RolloutError)
            #expect(error.code == .notFound && error.data["upstream"]?["code"]?.stringValue == "NoSuchUpload")
        }
        // The upload is aborted (already gone: NoSuchUpload counts as done) and forgotten.
        #expect(calls.suffix(2) == ["HEAD ", "DELETE uploadId=up-1"])
        #expect(journalEmpty)
    }
}
