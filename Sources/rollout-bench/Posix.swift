import Glibc

/// A failure that ends the benchmark run, with a message meant for a person.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }

    /// `what: strerror(code)`.
    static func system(_ what: String, _ code: Int32 = errno) -> BenchError {
        BenchError("\(what): \(String(cString: strerror(code)))")
    }
}

/// Monotonic time in nanoseconds (`CLOCK_MONOTONIC`, a vDSO call: cheap enough for every request).
@inline(__always)
func monotonicNanos() -> UInt64 {
    var now = timespec()
    clock_gettime(CLOCK_MONOTONIC, &now)
    return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
}

/// Sleeps for `nanoseconds`, resuming after signals.
func sleepNanos(_ nanoseconds: UInt64) {
    var remaining = timespec(tv_sec: Int(nanoseconds / 1_000_000_000), tv_nsec: Int(nanoseconds % 1_000_000_000))
    var left = timespec()
    while nanosleep(&remaining, &left) == -1 && errno == EINTR { remaining = left }
}

/// Writes `contents` to a new file at `path` (mode 0600), replacing any old one.
func writeFile(_ path: String, _ contents: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw BenchError.system("open \(path)") }
    defer { close(fd) }
    var bytes = Array(contents.utf8)
    var offset = 0
    while offset < bytes.count {
        let written = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
        if written < 0 {
            if errno == EINTR { continue }
            throw BenchError.system("write \(path)")
        }
        offset += written
    }
}

/// The whole of a small file (a log, `/proc/<pid>/status`), or nil when it cannot be read.
func readFile(_ path: String) -> String? {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var contents: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 16 * 1024)
    while true {
        let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if count < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if count == 0 { break }
        contents.append(contentsOf: chunk[0..<count])
    }
    return String(decoding: contents, as: UTF8.self)
}

func makeDirectory(_ path: String) throws {
    guard mkdir(path, 0o700) == 0 || errno == EEXIST else { throw BenchError.system("mkdir \(path)") }
}

func fileExists(_ path: String) -> Bool {
    access(path, F_OK) == 0
}

/// Creates a fresh directory `/tmp/rb.XXXXXX` (short, so socket paths stay far below `sun_path`'s limit).
func makeTemporaryDirectory() throws -> String {
    var template = Array("/tmp/rb.XXXXXX".utf8CString)
    guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
        throw BenchError.system("mkdtemp /tmp/rb.XXXXXX")
    }
    return String(cString: made)
}

/// `rm -rf path`, without following symbolic links; errors are ignored (best effort cleanup).
func removeTree(_ path: String) {
    if unlink(path) == 0 || errno == ENOENT { return }
    guard errno == EISDIR || errno == EPERM, let directory = opendir(path) else { return }
    var names: [String] = []
    while let entry = readdir(directory) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(directory)
    for name in names { removeTree(path + "/" + name) }
    rmdir(path)
}
