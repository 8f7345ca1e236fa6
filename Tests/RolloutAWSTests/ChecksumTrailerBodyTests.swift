import AWSConfig
import CurlHTTP
import Glibc
@testable import RolloutAWS
import RolloutCore
import RolloutSystem
import Testing

@Suite("ChecksumTrailerBody: an aws-chunked part with its SHA-256 in the trailer")
struct ChecksumTrailerBodyTests {
    static let chunk = Int(ChecksumTrailerBody.chunkBytes)

    /// botocore's `AwsChunkedWrapper` (an independent encoder) over `length` bytes of `file`
    /// from `offset`, in chunks of ``ChecksumTrailerBody/chunkBytes``, with a SHA-256 trailer.
    func botocoreEncoding(of file: String, offset: Int, length: Int, in directory: S3TestDirectory) throws -> [UInt8] {
        let script = directory.path + "/aws_chunked.py"
        let output = directory.path + "/expected.bin"
        let source = """
            import io, sys
            from botocore.httpchecksum import AwsChunkedWrapper, Sha256Checksum
            path, offset, length, chunk, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
            with open(path, "rb") as f:
                f.seek(offset)
                raw = io.BytesIO(f.read(length))
            wrapper = AwsChunkedWrapper(raw, checksum_cls=Sha256Checksum, checksum_name="x-amz-checksum-sha256", chunk_size=chunk)
            with open(out, "wb") as f:
                f.write(wrapper.read())

            """
        let fd = open(script, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw AWSTestProcessError(description: "cannot create \(script)") }
        _ = source.utf8CString.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count - 1) }
        close(fd)
        guard system("python3 '\(script)' '\(file)' \(offset) \(length) \(Self.chunk) '\(output)'") == 0 else {
            throw AWSTestProcessError(description: "aws_chunked.py failed")
        }
        return try readAll(output)
    }

    func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw AWSTestProcessError(description: "cannot open \(path)") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = read(fd, &buffer, buffer.count)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return bytes
    }

    func readableFile(_ path: String) throws -> ReadableFile {
        guard case .file(let file) = try ObjectSource.file(path: path) else {
            throw AWSTestProcessError(description: "not a file source")
        }
        return file
    }

    /// One attempt: rewind, then reads of `step` bytes until 0.
    func drain(_ body: ChecksumTrailerBody, step: Int) throws -> [UInt8] {
        try body.rewind()
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: step)
        while true {
            let count = try buffer.withUnsafeMutableBytes { bytes in try body.read(into: bytes) }
            if count == 0 { return out }
            out += buffer[0..<count]
        }
    }

    @Test(
        "the encoding is botocore's byte for byte, its length is announced, and the digest is the range's SHA-256",
        arguments: [1, chunk - 1, chunk, chunk + 1, 3 * chunk + 12_345]
    )
    func matchesBotocore(size: Int) async throws {
        // Python and byte-at-a-time reads block: off Swift's cooperative pool, whose two threads
        // every other suite's timers share.
        try await awsTestOffPool {
            let directory = try S3TestDirectory()
            defer { directory.remove() }
            let offset = 4_099
            let path = try directory.writeFile("part.bin", size: offset + size + 77, seed: UInt8(truncatingIfNeeded: size))
            let expected = try botocoreEncoding(of: path, offset: offset, length: size, in: directory)
            let reference = try directory.referenceDigestsBlocking(of: directory.writeSlice(of: path, offset: offset, length: size), chunk: size)
            let body = ChecksumTrailerBody(file: try readableFile(path), offset: Int64(offset), length: Int64(size))
            #expect(body.length == Int64(expected.count))
            // libcurl's 256 KiB buffer, and odd sizes that split the framing anywhere.
            for step in [256 << 10, 7, 65_537] {
                let sent = try drain(body, step: step)
                #expect(sent == expected, "read \(step) bytes at a time")
            }
            #expect(body.digest.map(s3TestHex) == reference.digests.first)
            let headers = Dictionary(uniqueKeysWithValues: body.headers.map { ($0.name, $0.value) })
            #expect(headers["content-encoding"] == "aws-chunked" && headers["x-amz-trailer"] == "x-amz-checksum-sha256")
            #expect(headers["x-amz-decoded-content-length"] == "\(size)")
        }
    }

    @Test("a retry whose bytes differ from the first complete attempt's fails before its trailer")
    func changedBetweenAttempts() async throws {
        // Blocking file reads: off Swift's cooperative pool, whose threads every suite shares.
        try await awsTestOffPool {
            let directory = try S3TestDirectory()
            defer { directory.remove() }
            let path = try directory.writeFile("part.bin", size: 2 * Self.chunk + 5)
            let body = ChecksumTrailerBody(file: try readableFile(path), offset: 0, length: Int64(2 * Self.chunk + 5))
            let first = try drain(body, step: 256 << 10)
            let digest = body.digest
            #expect(try drain(body, step: 256 << 10) == first && body.digest == digest)
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            #expect(pwrite(fd, [0xFF, 0xEE], 2, 1000) == 2)
            close(fd)
            do {
                let sent = try drain(body, step: 256 << 10)
                Issue.record("sent \(sent.count) bytes of a changed part")
            } catch let error as HTTPError {
                #expect(error.kind == .local && error.message.contains("changed between attempts"))
            }
            #expect(body.digest == digest)
        }
    }

    @Test("a file that shrank fails the read instead of sending a short part")
    func shrank() async throws {
        // Blocking file reads: off Swift's cooperative pool, whose threads every suite shares.
        try await awsTestOffPool {
            let directory = try S3TestDirectory()
            defer { directory.remove() }
            let path = try directory.writeFile("part.bin", size: 1000)
            let body = ChecksumTrailerBody(file: try readableFile(path), offset: 0, length: 3000)
            #expect(throws: HTTPError.self) { try drain(body, step: 256 << 10) }
            #expect(body.digest == nil)
        }
    }
}

extension S3TestDirectory {
    /// `length` bytes of `path` from `offset`, copied to a new file; returns its path.
    func writeSlice(of path: String, offset: Int, length: Int) throws -> String {
        let slice = self.path + "/slice.bin"
        let command = "dd if='\(path)' of='\(slice)' bs=1M skip=\(offset) count=\(length) status=none iflag=skip_bytes,count_bytes"
        guard system(command) == 0 else { throw AWSTestProcessError(description: "dd failed") }
        return slice
    }
}

/// ``AWSTestScriptedHTTP`` that, like libcurl, reads a stream body to its end before answering.
final class AWSTestDrainingHTTP: HTTPClient {
    let scripted: AWSTestScriptedHTTP

    init(_ scripted: AWSTestScriptedHTTP) {
        self.scripted = scripted
    }

    func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse {
        if case .stream(let source) = request.body {
            try source.rewind()
            var buffer = [UInt8](repeating: 0, count: 256 << 10)
            var total: Int64 = 0
            while true {
                let read = buffer.withUnsafeMutableBytes { bytes in Result { () throws(HTTPError) in try source.read(into: bytes) } }
                let count = try read.get()
                if count == 0 { break }
                total += Int64(count)
            }
            guard total == source.length else { throw HTTPError(.local, "the stream produced \(total) of \(source.length) bytes") }
        }
        return try await scripted.execute(request, sink: sink, timeouts: timeouts, progress: progress)
    }
}

@Suite("S3ObjectStore: a server that refuses checksum trailers (scripted HTTP)")
struct ChecksumTrailerRefusalTests {
    @Test("NotImplemented on a trailer part: that part and the rest go again with the signed payload hash; same contentId")
    func notImplementedFallsBack() async throws {
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let file = try directory.writeFile("f.bin", size: (5 << 20) * 2 + 3)
        let reference = try await directory.referenceDigests(of: file, chunk: 5 << 20)
        let ok = HTTPResponse(status: 200, headers: [(name: "etag", value: "\"abc\"")], body: [])
        let created = HTTPResponse(
            status: 200, headers: [],
            body: Array("<InitiateMultipartUploadResult><UploadId>up-1</UploadId></InitiateMultipartUploadResult>".utf8)
        )
        let scripted = AWSTestScriptedHTTP(
            [.success(created), awsTestXMLError(501, "NotImplemented"), .success(ok), .success(ok), .success(ok), .success(ok)]
        )
        let client = try AWSClient(
            service: .s3, endpointURL: "http://127.0.0.1:9000", region: "us-east-1", credentials: awsTestCredentials,
            http: AWSTestDrainingHTTP(scripted), retryPolicy: .standard(maxAttempts: 1), environment: AWSTestSleepRecorder().environment()
        )
        let store = S3ObjectStore(
            client: client, bucket: "b", prefix: "", forcePathStyle: true, multipartChunkBytes: 5 << 20,
            maxObjectBytes: 1 << 40, uploadConcurrency: 1, journal: InMemoryUploadJournal()
        )
        #expect(store.usesChecksumTrailer)
        let result = try await store.put(PutObjectRequest(key: "f.bin", source: .file(path: file)), progress: .none)
        #expect(result.contentId == reference.contentId && result.parts == 3)
        let puts = scripted.requests.filter { $0.method == "PUT" }
        func header(_ request: HTTPRequest, _ name: String) -> String? { request.headers.first { $0.name.lowercased() == name }?.value }
        #expect(puts.count == 4)
        #expect(header(puts[0], "x-amz-content-sha256") == "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
        #expect(header(puts[0], "x-amz-trailer") == "x-amz-checksum-sha256")
        for (put, digest) in zip(puts.dropFirst(), reference.digests) {
            #expect(header(put, "x-amz-trailer") == nil && header(put, "x-amz-content-sha256") == digest)
            #expect(header(put, "x-amz-checksum-sha256") != nil)
        }
    }
}
