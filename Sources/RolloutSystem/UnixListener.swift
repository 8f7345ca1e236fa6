import Glibc

/// A listening Unix-domain socket prepared the careful way (reference jsonrpc.md §4):
/// path length checked before `bind`, parent directory created 0700, an `flock` on
/// `<path>.lock` so a live daemon's socket is never stolen, a stale socket file replaced, and
/// the socket born with its final mode (`fchmod` on the descriptor before `bind`, and the umask
/// lowered around `bind` only when it would take bits from the mode, so there is no window). Here
/// rather than in RolloutServer, which serves the descriptor with NIO, because it is all
/// errno-returning C.
public struct UnixListener: Sendable {
    /// The listening descriptor, handed to NIO.
    public let descriptor: Int32
    /// The socket path (nil when the socket was inherited and is not ours to unlink).
    public let path: String?
    /// The held lock file's descriptor and path.
    private let lock: (descriptor: CInt, path: String)?

    /// Linux `sun_path` holds 108 bytes including the terminating NUL.
    public static let maxPathBytes = 107

    /// Binds a new socket at `path` with `mode`.
    public static func bind(path: String, mode: UInt32, backlog: Int32 = 256) throws(ListenerError) -> UnixListener {
        guard !path.isEmpty, path.utf8.count <= maxPathBytes else {
            throw ListenerError("socket path \"\(path)\" is \(path.utf8.count) bytes; it must be 1–\(maxPathBytes) bytes (sun_path limit)")
        }
        try makeParentDirectory(of: path)
        let lockPath = path + ".lock"
        let lockFD = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else {
            throw ListenerError(SystemError("open lock file", lockPath).description)
        }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            let holder = readPID(lockFD)
            close(lockFD)
            throw ListenerError(
                "another rolloutd\(holder.map { " (pid \($0))" } ?? "") is already serving \(path); stop it or choose another [server].socket"
            )
        }
        writePID(lockFD)
        do {
            try removeStaleSocket(at: path)
            let fd = try bindSocket(path: path, mode: mode_t(mode), backlog: backlog)
            return UnixListener(descriptor: fd, path: path, lock: (lockFD, lockPath))
        } catch {
            close(lockFD)
            throw error
        }
    }

    /// Wraps a listening socket inherited from systemd (`LISTEN_FDS`), or nil when none was passed.
    public static func inherited(environment: [String: String]) -> UnixListener? {
        guard let pidText = environment["LISTEN_PID"], pid_t(pidText) == getpid(),
            let countText = environment["LISTEN_FDS"], let count = Int(countText), count >= 1
        else { return nil }
        let fd: CInt = 3  // SD_LISTEN_FDS_START
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        return UnixListener(descriptor: fd, path: nil, lock: nil)
    }

    /// Removes the socket file and the lock file (the listening descriptor is closed by NIO).
    public func removeFiles() {
        if let path { unlink(path) }
        if let lock {
            unlink(lock.path)
            close(lock.descriptor)
        }
    }

    private static func makeParentDirectory(of path: String) throws(ListenerError) {
        guard let slash = path.lastIndex(of: "/") else { return }
        let parent = String(path[..<slash])
        guard !parent.isEmpty else { return }
        do {
            try Directories.make(parent)
        } catch {
            throw ListenerError("cannot create socket directory \(error.path): \(SystemError.message(for: error.code))")
        }
    }

    private static func removeStaleSocket(at path: String) throws(ListenerError) {
        var info = stat()
        guard lstat(path, &info) == 0 else { return }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ListenerError("\(path) exists and is not a socket; refusing to replace it")
        }
        // We hold the lock, so whoever made this socket is gone, unless it predates the lock
        // file: probe it before unlinking.
        let probe = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        defer { close(probe) }
        if (try? withAddress(path, { connect(probe, $0, $1) })) == 0 {
            throw ListenerError("a live daemon is answering on \(path); refusing to replace its socket")
        }
        unlink(path)
    }

    /// The process's umask, read from `/proc/self/status` (Linux 4.7 and later) without
    /// changing it; nil when it cannot be read.
    static func currentUmask() -> mode_t? {
        guard let status = try? FileDescriptor(path: "/proc/self/status", flags: O_RDONLY).readToEnd(maxBytes: 1 << 16) else {
            return nil
        }
        let prefix = Array("Umask:".utf8)
        for line in status.split(separator: UInt8(ascii: "\n")) where line.starts(with: prefix) {
            let digits = line.dropFirst(prefix.count).filter { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") }
            return mode_t(String(decoding: digits, as: UTF8.self), radix: 8)
        }
        return nil
    }

    /// Binds a socket at `path` with exactly `mode`. With `lowerUmask` false, the umask is left
    /// alone unless it would take bits from the mode.
    private static func bindSocket(path: String, mode: mode_t, backlog: CInt, lowerUmask: Bool = false) throws(ListenerError) -> CInt {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw ListenerError(SystemError("create a socket for", path).description) }
        // `bind` gives the file the socket inode's mode less the umask. Setting the mode on the
        // descriptor first means the file is never wider than `mode`, and exactly `mode` unless
        // the umask takes bits from it. Only then is the umask lowered around `bind`: the umask
        // belongs to the whole process, and a file another thread creates meanwhile gets it too.
        // If fchmod fails, the check of the file's mode after bind sees it and binds again.
        _ = fchmod(fd, mode & 0o777)
        let lowers = lowerUmask || (currentUmask() ?? 0o777) & mode & 0o777 != 0
        let previous = lowers ? umask(~mode & 0o777) : nil
        let bound = try withAddress(path) { Glibc.bind(fd, $0, $1) }
        let bindFailure = SystemError("bind", path)
        if let previous { umask(previous) }
        guard bound == 0 else {
            close(fd)
            throw ListenerError(bindFailure.description)
        }
        // A file without the descriptor's mode (fchmod failed, or a kernel that does not carry it
        // over; Linux does) gets the socket bound again the old way, rather than a socket wider
        // than asked. Nothing can connect before `listen`.
        var info = stat()
        if !lowers, lstat(path, &info) != 0 || info.st_mode & 0o7777 != mode & 0o777 {
            close(fd)
            unlink(path)
            return try bindSocket(path: path, mode: mode, backlog: backlog, lowerUmask: true)
        }
        guard listen(fd, backlog) == 0 else {
            let failure = SystemError("listen on", path)
            close(fd)
            unlink(path)
            throw ListenerError(failure.description)
        }
        return fd
    }

    private static func withAddress(
        _ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> CInt
    ) throws(ListenerError) -> CInt {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else {
            throw ListenerError("socket path \"\(path)\" is too long")
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
    }

    private static func writePID(_ fd: CInt) {
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(fd, 0)
        _ = text.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
    }

    private static func readPID(_ fd: CInt) -> Int? {
        var buffer = [UInt8](repeating: 0, count: 32)
        let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, 0) }
        guard count > 0 else { return nil }
        return Int(String(decoding: buffer[..<count], as: UTF8.self).trimmingWhitespace)
    }
}

/// Why the socket could not be set up; the message is meant for the operator.
public struct ListenerError: Error, Sendable, CustomStringConvertible {
    /// The message.
    public var description: String

    init(_ description: String) {
        self.description = description
    }
}

extension String {
    var trimmingWhitespace: String {
        String(self.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
