import Glibc

/// An open file, closed when the object goes away. Used by one thread at a time (the blocking
/// job that opened it); every call retries `EINTR` and throws ``SystemCallError``.
final class FileDescriptor {
    /// The descriptor.
    private let fd: Int32
    /// The path it was opened with, for errors.
    let path: String

    /// Opens `path` with `flags` (`O_CLOEXEC` is always added) and, when creating, `mode`.
    init(path: String, flags: Int32, mode: mode_t = 0) throws(SystemCallError) {
        let fd = retryingInterrupts { open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw SystemCallError("open", path) }
        self.fd = fd
        self.path = path
    }

    deinit {
        close(fd)
    }

    /// `fstat`.
    func status() throws(SystemCallError) -> stat {
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw SystemCallError("stat", path) }
        return info
    }

    /// Reads up to `buffer.count` bytes at the current offset, or at `offset` when given;
    /// 0 at end of file.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64? = nil) throws(SystemCallError) -> Int {
        let count = retryingInterrupts {
            if let offset {
                pread(fd, buffer.baseAddress, buffer.count, off_t(offset))
            } else {
                Glibc.read(fd, buffer.baseAddress, buffer.count)
            }
        }
        guard count >= 0 else { throw SystemCallError("read", path) }
        return count
    }

    /// Reads from the current offset to the end of the file; nil when that is more than
    /// `maxBytes` (for small text files: `secrets.toml`, `/proc` and cgroup files).
    func readToEnd(maxBytes: Int) throws(SystemCallError) -> [UInt8]? {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
        defer { buffer.deallocate() }
        var bytes: [UInt8] = []
        while true {
            let count = try read(into: buffer)
            if count == 0 { return bytes }
            bytes.append(contentsOf: buffer[0..<count])
            if bytes.count > maxBytes { return nil }
        }
    }

    /// Writes all of `bytes`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(SystemCallError) {
        var offset = 0
        while offset < bytes.count {
            let written = retryingInterrupts {
                Glibc.write(fd, bytes.baseAddress.map { $0 + offset }, bytes.count - offset)
            }
            guard written > 0 else { throw SystemCallError("write", path) }
            offset += written
        }
    }

    /// `fsync`: the data is on disk when this returns.
    func sync() throws(SystemCallError) {
        guard retryingInterrupts({ fsync(fd) }) == 0 else { throw SystemCallError("sync", path) }
    }
}

/// Calls `call` again while it fails with `EINTR`.
func retryingInterrupts<Value: BinaryInteger>(_ call: () -> Value) -> Value {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
