import Glibc
import Synchronization

/// The state of one exchange, reached from libcurl's C callbacks through an opaque pointer.
///
/// `@unchecked Sendable`: everything but `cancelled` is touched only by the one thread running
/// `curl_easy_perform` (between `open()` and `close()`); `cancelled` is atomic.
final class Transfer: @unchecked Sendable {
    let request: HTTPRequest
    private let sink: HTTPResponseSink
    private let progress: HTTPProgress?
    private let cancelled = Atomic<Bool>(false)

    private(set) var headers: [(name: String, value: String)] = []
    private(set) var body: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    private(set) var failure: HTTPError?
    private var readFD: Int32 = -1
    private var readOffset: Int64 = 0
    private var readRemaining: Int64 = 0
    private var bytesOffset = 0
    private var writeFD: Int32 = -1

    init(request: HTTPRequest, sink: HTTPResponseSink, progress: HTTPProgress?) {
        self.request = request
        self.sink = sink
        self.progress = progress
    }

    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    func open() throws(HTTPError) {
        if case .file(let path, let offset, let length) = request.body {
            readFD = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            guard readFD >= 0 else { throw HTTPError(.local, "cannot open \(path): \(String(cString: strerror(errno)))") }
            readOffset = offset
            readRemaining = length
        }
        if case .file(let path) = sink {
            writeFD = Glibc.open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
            guard writeFD >= 0 else { throw HTTPError(.local, "cannot open \(path): \(String(cString: strerror(errno)))") }
        }
    }

    func close() {
        if readFD >= 0 { Glibc.close(readFD) }
        if writeFD >= 0 {
            if fsync(writeFD) != 0, failure == nil {
                failure = HTTPError(.local, "fsync failed: \(String(cString: strerror(errno)))")
            }
            Glibc.close(writeFD)
        }
        readFD = -1
        writeFD = -1
    }

    /// READFUNCTION: the next request body bytes (0 at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
        switch request.body {
        case .empty:
            return 0
        case .bytes(let bytes):
            let count = min(buffer.count, bytes.count - bytesOffset)
            guard count > 0 else { return 0 }
            bytes.withUnsafeBytes { source in
                buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[bytesOffset..<(bytesOffset + count)]))
            }
            bytesOffset += count
            return count
        case .file:
            let want = Int(min(Int64(buffer.count), readRemaining))
            guard want > 0 else { return 0 }
            let got = pread(readFD, buffer.baseAddress, want, off_t(readOffset))
            guard got > 0 else {
                failure = HTTPError(.local, "reading the request body failed: \(got < 0 ? String(cString: strerror(errno)) : "file shrank")")
                return 0x1000_0000  // CURL_READFUNC_ABORT
            }
            readOffset += Int64(got)
            readRemaining -= Int64(got)
            return got
        }
    }

    /// WRITEFUNCTION: response body bytes.
    func write(_ bytes: UnsafeRawBufferPointer) -> Int {
        switch sink {
        case .memory(let limit):
            guard body.count + bytes.count <= limit else {
                failure = HTTPError(.tooLarge, "response body is larger than \(limit) bytes")
                return 0
            }
            body.append(contentsOf: bytes)
        case .file:
            var offset = 0
            while offset < bytes.count {
                let written = Glibc.write(writeFD, bytes.baseAddress! + offset, bytes.count - offset)
                guard written > 0 else {
                    failure = HTTPError(.local, "writing the response failed: \(String(cString: strerror(errno)))")
                    return 0
                }
                offset += written
            }
        }
        bytesWritten += Int64(bytes.count)
        return bytes.count
    }

    /// HEADERFUNCTION: one header line (a status line starts a new header block).
    func header(_ line: UnsafeRawBufferPointer) {
        let text = String(decoding: line, as: UTF8.self)
        if text.hasPrefix("HTTP/") {
            headers.removeAll()
            return
        }
        guard let colon = text.firstIndex(of: ":") else { return }
        let name = text[..<colon].lowercased()
        let value = text[text.index(after: colon)...].trimmingCharacters(in: " \t\r\n")
        headers.append((name, value))
    }

    /// XFERINFOFUNCTION: false aborts the transfer.
    func progressed(sent: Int64, received: Int64) -> Bool {
        if cancelled.load(ordering: .relaxed) {
            failure = HTTPError(.cancelled, "the request was cancelled")
            return false
        }
        progress?(sent, received)
        return true
    }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let scalars = Set(set.unicodeScalars)
        var view = Substring(self).unicodeScalars[...]
        while let first = view.first, scalars.contains(first) { view = view.dropFirst() }
        while let last = view.last, scalars.contains(last) { view = view.dropLast() }
        return String(view)
    }
}
