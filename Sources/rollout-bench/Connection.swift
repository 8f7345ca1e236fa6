import Glibc

/// Preformatted requests: a fixed prefix and suffix with the decimal id spliced in between.
struct RequestTemplate {
    private let prefix: [UInt8]
    private let suffix: [UInt8]

    /// `method` with `params`, a JSON object's text (nil: no params).
    init(method: String, params: String? = nil) {
        prefix = Array(#"{"jsonrpc":"2.0","id":"#.utf8)
        let paramsMember = params.map { #","params":"# + $0 } ?? ""
        suffix = Array(#","method":\#(jsonString(method))\#(paramsMember)}"#.utf8) + [UInt8(ascii: "\n")]
    }

    static let ping = RequestTemplate(method: "sys.ping")

    /// Appends one request line with `id` to `bytes`.
    @inline(__always)
    func append(id: UInt64, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: prefix)
        let firstDigit = bytes.count
        var rest = id
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(truncatingIfNeeded: rest % 10))
            rest /= 10
        } while rest > 0
        bytes[firstDigit...].reverse()
        bytes.append(contentsOf: suffix)
    }
}

/// A blocking Unix-socket client: writes whole buffers, reads into a buffer that it scans for `\n`.
/// Responses are not parsed; a line counts as an error unless it contains `"result"`.
/// Used by one thread at a time.
final class Connection {
    let fd: Int32
    private var buffer: UnsafeMutableRawBufferPointer
    /// Bytes `[lineStart, end)` are received and not yet consumed; `[lineStart, scanned)` holds no `\n`.
    private var lineStart = 0
    private var scanned = 0
    private var end = 0

    private init(fd: Int32) {
        self.fd = fd
        buffer = .allocate(byteCount: 64 * 1024, alignment: 16)
    }

    deinit {
        close(fd)
        buffer.deallocate()
    }

    /// One `connect()` attempt; nil (with `errno` set) when nothing is listening yet.
    /// Reads and writes time out after `timeoutSeconds` so a stuck server cannot hang the benchmark.
    static func attempt(path: String, timeoutSeconds: Int = 10) -> Connection? {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return nil }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            close(fd)
            errno = ENAMETOOLONG
            return nil
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard connected == 0 else {
            let saved = errno
            close(fd)
            errno = saved
            return nil
        }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return Connection(fd: fd)
    }

    static func connect(path: String) throws -> Connection {
        guard let connection = attempt(path: path) else { throw BenchError.system("connect \(path)") }
        return connection
    }

    /// Writes all of `bytes` (`MSG_NOSIGNAL`: a closed peer is an error, not a SIGPIPE).
    func send(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let sent = Glibc.send(fd, raw.baseAddress! + offset, raw.count - offset, Int32(MSG_NOSIGNAL))
                if sent < 0 {
                    if errno == EINTR { continue }
                    throw BenchError.system(errno == EAGAIN ? "send: timed out" : "send")
                }
                offset += sent
            }
        }
    }

    /// Blocks for one `read()`, then consumes every complete line received so far.
    /// Returns how many lines were complete and how many of them lacked `"result"`.
    func readLines() throws -> (lines: Int, errors: Int) {
        if lineStart == end {
            lineStart = 0
            scanned = 0
            end = 0
        } else if end == buffer.count {
            makeRoom()
        }
        let count = recv(fd, buffer.baseAddress! + end, buffer.count - end, 0)
        if count <= 0 {
            if count < 0 && errno == EINTR { return (0, 0) }
            if count == 0 { throw BenchError("the server closed the connection") }
            throw BenchError.system(errno == EAGAIN ? "recv: no response (timed out)" : "recv")
        }
        end += count

        var lines = 0
        var errors = 0
        let base = buffer.baseAddress!
        while scanned < end, let hit = memchr(base + scanned, 0x0A, end - scanned) {
            let newline = base.distance(to: hit)
            lines += 1
            if !Self.containsResult(base + lineStart, count: newline - lineStart) { errors += 1 }
            lineStart = newline + 1
            scanned = lineStart
        }
        scanned = end
        return (lines, errors)
    }

    /// Blocks until one whole line has arrived and consumes it (without its `\n`). For checks
    /// outside the timed loops, which never leave unread lines behind.
    func nextLine() throws -> [UInt8] {
        while true {
            let base = buffer.baseAddress!
            if lineStart < end, let hit = memchr(base + lineStart, 0x0A, end - lineStart) {
                let newline = base.distance(to: hit)
                let line = Array(UnsafeRawBufferPointer(start: base + lineStart, count: newline - lineStart))
                lineStart = newline + 1
                scanned = lineStart
                return line
            }
            if lineStart == end {
                lineStart = 0
                end = 0
            } else if end == buffer.count {
                makeRoom()
            }
            scanned = end
            let count = recv(fd, buffer.baseAddress! + end, buffer.count - end, 0)
            if count <= 0 {
                if count < 0 && errno == EINTR { continue }
                if count == 0 { throw BenchError("the server closed the connection") }
                throw BenchError.system(errno == EAGAIN ? "recv: no response (timed out)" : "recv")
            }
            end += count
        }
    }

    /// Moves the partial line to the front of the buffer, growing it when the line fills it all.
    private func makeRoom() {
        let pending = end - lineStart
        if lineStart == 0 {
            let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: buffer.count * 2, alignment: 16)
            bigger.baseAddress!.copyMemory(from: buffer.baseAddress!, byteCount: pending)
            buffer.deallocate()
            buffer = bigger
        } else {
            memmove(buffer.baseAddress!, buffer.baseAddress! + lineStart, pending)
        }
        scanned -= lineStart
        end = pending
        lineStart = 0
    }

    /// The 8 bytes `"result"` as one (native-endian) word.
    private static let resultWord: UInt64 = Array(#""result""#.utf8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }

    /// Whether the line contains the 8 bytes `"result"`.
    @inline(__always)
    private static func containsResult(_ line: UnsafeMutableRawPointer, count: Int) -> Bool {
        var candidate = 0
        while candidate + 8 <= count {
            guard let quote = memchr(line + candidate, 0x22, count - 8 - candidate + 1) else { return false }
            if quote.loadUnaligned(as: UInt64.self) == resultWord { return true }
            candidate = line.distance(to: quote) + 1
        }
        return false
    }
}
