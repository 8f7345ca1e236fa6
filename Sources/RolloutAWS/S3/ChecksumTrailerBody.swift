import CurlHTTP
import RolloutCrypto
import RolloutSystem
import Synchronization

/// `length` bytes of a file from `offset`, sent as an unsigned `aws-chunked` body whose
/// trailer carries their SHA-256 (`x-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER`,
/// `x-amz-trailer: x-amz-checksum-sha256`): each read lands in libcurl's upload buffer and is
/// hashed there, so the file is read once and the part need not be hashed before its request
/// starts. S3 checks the trailer against the bytes it received, so a part is stored whole and
/// as hashed, or not at all.
///
/// The wire format (S3 API guide, `sigv4-streaming.html`): `hex(n)\r\n<n bytes>\r\n` per chunk
/// of ``chunkBytes`` (the last one shorter), then `0\r\nx-amz-checksum-sha256:<base64>\r\n\r\n`.
///
/// Every attempt reads the range again (``rewind()``). Once an attempt has produced the whole
/// body, its digest is the part's: a later attempt whose bytes hash differently (the file
/// changed in between) fails before sending its trailer, so a retried part is byte-identical
/// or is not stored.
///
/// `@unchecked Sendable`: the read state is touched only by the one thread running the
/// exchange (one attempt at a time, ``HTTPBodySource``); ``digest`` is behind a mutex.
final class ChecksumTrailerBody: HTTPBodySource, @unchecked Sendable {
    /// Data bytes per `aws-chunked` chunk: botocore's (1 MiB).
    static let chunkBytes: Int64 = 1 << 20
    static let trailerName = "x-amz-checksum-sha256"

    let file: ReadableFile
    let offset: Int64
    let dataLength: Int64
    let length: Int64

    private let completed = Mutex<[UInt8]?>(nil)
    private var hasher = Digest(.sha256)
    private var position: Int64 = 0
    private var chunkLeft: Int64 = 0
    private var framing: [UInt8] = []
    private var framingIndex = 0
    private var finished = false

    init(file: ReadableFile, offset: Int64, length: Int64) {
        self.file = file
        self.offset = offset
        self.dataLength = length
        self.length = Self.encodedLength(of: length)
    }

    /// The SHA-256 of the bytes of the first attempt that produced the whole body.
    var digest: [UInt8]? { completed.withLock { $0 } }

    /// The request headers that announce this encoding (the payload hash is
    /// ``AWSSigV4/PayloadHash/unsignedPayloadTrailer``; libcurl sends the encoded length as
    /// `Content-Length`).
    var headers: [(name: String, value: String)] {
        [
            (name: "content-encoding", value: "aws-chunked"),
            (name: "x-amz-decoded-content-length", value: "\(dataLength)"),
            (name: "x-amz-sdk-checksum-algorithm", value: "SHA256"),
            (name: "x-amz-trailer", value: Self.trailerName),
        ]
    }

    /// The encoded size of `dataLength` bytes.
    static func encodedLength(of dataLength: Int64) -> Int64 {
        var total: Int64 = 0
        var left = dataLength
        while left > 0 {
            let count = min(chunkBytes, left)
            total += Int64(String(count, radix: 16).utf8.count) + 2 + count + 2
            left -= count
        }
        // `0\r\n`, the trailer line (a SHA-256 is 44 characters of base64), the final `\r\n`.
        return total + 3 + Int64(trailerName.utf8.count + 1 + 44 + 2) + 2
    }

    func rewind() throws(HTTPError) {
        hasher = Digest(.sha256)
        position = 0
        chunkLeft = 0
        framing = []
        framingIndex = 0
        finished = false
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPError) -> Int {
        var filled = 0
        while filled < buffer.count {
            if framingIndex < framing.count {
                let count = min(buffer.count - filled, framing.count - framingIndex)
                framing.withUnsafeBytes { bytes in
                    UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + count)])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: bytes[framingIndex..<(framingIndex + count)]))
                }
                framingIndex += count
                filled += count
            } else if chunkLeft > 0 {
                let want = Int(min(Int64(buffer.count - filled), chunkLeft))
                let target = UnsafeMutableRawBufferPointer(rebasing: buffer[filled..<(filled + want)])
                let got: Int
                do {
                    got = try file.read(into: target, at: offset + position)
                } catch {
                    throw HTTPError(.local, "reading the request body failed: \(error)")
                }
                guard got > 0 else {
                    throw HTTPError(.local, "reading the request body failed: \(file.path) shrank")
                }
                hasher.update(UnsafeRawBufferPointer(rebasing: target[0..<got]))
                position += Int64(got)
                chunkLeft -= Int64(got)
                filled += got
                if chunkLeft == 0 { setFraming("\r\n") }
            } else if position < dataLength {
                chunkLeft = min(Self.chunkBytes, dataLength - position)
                setFraming(String(chunkLeft, radix: 16) + "\r\n")
            } else if !finished {
                finished = true
                let digest = hasher.finalize()
                let first = completed.withLock { completed in
                    if completed == nil { completed = digest }
                    return completed!
                }
                guard first == digest else {
                    throw HTTPError(.local, "\(file.path) changed between attempts to send the same part")
                }
                setFraming("0\r\n\(Self.trailerName):\(S3Support.base64(digest))\r\n\r\n")
            } else {
                break
            }
        }
        return filled
    }

    private func setFraming(_ text: String) {
        framing = Array(text.utf8)
        framingIndex = 0
    }
}
