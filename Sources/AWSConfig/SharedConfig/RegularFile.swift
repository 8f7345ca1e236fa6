#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads small files whole with plain POSIX calls (no Foundation). Blocking.
package enum RegularFile {
    /// The bytes of the regular file at `path` (symbolic links followed); nil when there is
    /// none, it is not a regular file, or it cannot be read — what botocore treats as absent.
    package static func contents(atPath path: String) -> [UInt8]? {
        let fd = retrying { open(path, O_RDONLY | O_CLOEXEC) }
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { buffer in
                retrying { read(fd, buffer.baseAddress, buffer.count) }
            }
            if count == 0 { return bytes }
            guard count > 0 else { return nil }
            bytes.append(contentsOf: chunk[0..<count])
        }
    }

    /// Calls `call` again while it fails with `EINTR`.
    private static func retrying<Result: BinaryInteger>(_ call: () -> Result) -> Result {
        while true {
            let result = call()
            if result >= 0 || errno != EINTR { return result }
        }
    }
}
