import Glibc
import RolloutSystem

/// Reads small files whole with plain POSIX calls (no Foundation). Blocking.
package enum RegularFile {
    /// The bytes of the regular file at `path` (symbolic links followed); nil when there is
    /// none, it is not a regular file, or it cannot be read — what botocore treats as absent.
    package static func contents(atPath path: String) -> [UInt8]? {
        guard let file = try? FileDescriptor(path: path, flags: O_RDONLY),
            let info = try? file.status(), info.st_mode & S_IFMT == S_IFREG
        else { return nil }
        return try? file.readToEnd(maxBytes: .max)
    }
}
