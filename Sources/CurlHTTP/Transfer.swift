import RolloutSystem
import Synchronization

/// The state of one exchange, reached from libcurl's C callbacks through an opaque pointer.
///
/// `@unchecked Sendable`: everything but `cancelled` is touched only by the one thread running
/// `curl_easy_perform` (after `open()`); `cancelled` is atomic.
final class Transfer: @unchecked Sendable {
    let request: HTTPRequest
    private let sink: HTTPResponseSink
    private let progress: HTTPProgress?
    private let cancelled = Atomic<Bool>(false)

    private(set) var headers: [(name: String, value: String)] = []
    private(set) var body: [UInt8] = []
    private(set) var bytesWritten: Int64 = 0
    private(set) var failure: HTTPError?
    private var readOffset: Int64 = 0
    private var readRemaining: Int64 = 0
    private var bytesOffset = 0

    init(request: HTTPRequest, sink: HTTPResponseSink, progress: HTTPProgress?) {
        self.request = request
        self.sink = sink
        self.progress = progress
    }

    func cancel() {
        cancelled.store(true, ordering: .relaxed)
    }

    /// Prepares an attempt: the body is read from its start and a file sink is emptied, so a
    /// retried exchange sends and stores exactly what the first one would have.
    func open() throws(HTTPError) {
        switch request.body {
        case .file(_, let offset, let length):
            readOffset = offset
            readRemaining = length
        case .stream(let source):
            try source.rewind()
        case .empty, .bytes:
            break
        }
        if case .file(let temporary) = sink {
            do {
                try temporary.file.truncate()
            } catch {
                throw HTTPError(.local, error.description)
            }
        }
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
        case .file(let file, _, _):
            let want = Int(min(Int64(buffer.count), readRemaining))
            guard want > 0 else { return 0 }
            let got: Int
            do {
                got = try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[0..<want]), at: readOffset)
            } catch {
                failure = HTTPError(.local, "reading the request body failed: \(error)")
                return 0x1000_0000  // CURL_READFUNC_ABORT
            }
            guard got > 0 else {
                failure = HTTPError(.local, "reading the request body failed: \(file.path) shrank")
                return 0x1000_0000  // CURL_READFUNC_ABORT
            }
            readOffset += Int64(got)
            readRemaining -= Int64(got)
            return got
        case .stream(let source):
            do {
                return try source.read(into: buffer)
            } catch {
                failure = error
                return 0x1000_0000  // CURL_READFUNC_ABORT
            }
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
        case .file(let temporary):
            do {
                try temporary.file.write(bytes, at: bytesWritten)
            } catch {
                failure = HTTPError(.local, "writing the response failed: \(error)")
                return 0
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
