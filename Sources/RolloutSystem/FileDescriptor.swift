public import Glibc

/// An open file descriptor, closed when the object goes away (unless it was borrowed: the
/// standard streams, which stay open).
///
/// `Sendable`: the descriptor number never changes after `init`, and the calls made on it
/// (`pread`, `pwrite`, `fstat`, `fsync`, `ftruncate`) are safe from several threads at once;
/// the offset-moving ``read(into:)`` and ``write(_:)`` are for one thread at a time, which is
/// how callers use them (the blocking job that opened the file).
public final class FileDescriptor: Sendable {
    /// The descriptor number.
    public let rawValue: Int32
    /// The path it was opened with, for errors.
    public let path: String
    /// Whether `deinit` closes it.
    private let owned: Bool

    /// Takes ownership of `rawValue`.
    public init(adopting rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
        self.owned = true
    }

    /// Uses `rawValue` without owning it: it stays open when this object goes away.
    public init(borrowing rawValue: Int32, path: String) {
        self.rawValue = rawValue
        self.path = path
        self.owned = false
    }

    /// Descriptor 0, borrowed.
    public static let standardInput = FileDescriptor(borrowing: STDIN_FILENO, path: "stdin")
    /// Descriptor 1, borrowed.
    public static let standardOutput = FileDescriptor(borrowing: STDOUT_FILENO, path: "stdout")
    /// Descriptor 2, borrowed.
    public static let standardError = FileDescriptor(borrowing: STDERR_FILENO, path: "stderr")

    /// Opens `path` with `flags` (`O_CLOEXEC` is always added) and, when creating, `mode`.
    /// For the daemon's own files only: a path a client names goes through ``FileRoots``.
    public convenience init(path: String, flags: Int32, mode: mode_t = 0) throws(SystemError) {
        let fd = retryingInterrupts { open(path, flags | O_CLOEXEC, mode) }
        guard fd >= 0 else { throw SystemError("open", path) }
        self.init(adopting: fd, path: path)
    }

    deinit {
        if owned { close(rawValue) }
    }

    /// `fstat`.
    public func status() throws(SystemError) -> stat {
        var info = stat()
        guard fstat(rawValue, &info) == 0 else { throw SystemError("stat", path) }
        return info
    }

    /// Reads up to `buffer.count` bytes at the current offset, or at `offset` when given
    /// (`pread`, safe from several threads); 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64? = nil) throws(SystemError) -> Int {
        let count = retryingInterrupts {
            if let offset {
                pread(rawValue, buffer.baseAddress, buffer.count, off_t(offset))
            } else {
                Glibc.read(rawValue, buffer.baseAddress, buffer.count)
            }
        }
        guard count >= 0 else { throw SystemError("read", path) }
        return count
    }

    /// Reads from the current offset to the end of the file; nil when that is more than
    /// `maxBytes` (for small text files: `secrets.toml`, `/proc` and cgroup files).
    public func readToEnd(maxBytes: Int) throws(SystemError) -> [UInt8]? {
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

    /// Writes all of `bytes` at the current offset, or at `offset` when given (`pwrite`).
    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64? = nil) throws(SystemError) {
        var done = 0
        while done < bytes.count {
            let written = retryingInterrupts {
                let start = bytes.baseAddress.map { $0 + done }
                return if let offset {
                    pwrite(rawValue, start, bytes.count - done, off_t(offset + Int64(done)))
                } else {
                    Glibc.write(rawValue, start, bytes.count - done)
                }
            }
            guard written > 0 else { throw SystemError("write", path) }
            done += written
        }
    }

    /// `ftruncate`.
    public func truncate(to size: Int64 = 0) throws(SystemError) {
        guard retryingInterrupts({ ftruncate(rawValue, off_t(size)) }) == 0 else { throw SystemError("truncate", path) }
    }

    /// `fsync`: the data is on disk when this returns.
    public func sync() throws(SystemError) {
        guard retryingInterrupts({ fsync(rawValue) }) == 0 else { throw SystemError("sync", path) }
    }
}
