import Glibc
import RolloutCore
import RolloutSystem

/// The few path operations the local provider needs on its own root (never on a path a client
/// named: those arrive already opened beneath ``RolloutSystem/FileRoots``).
enum FileSystem {
    /// Creates one directory; an existing one is fine.
    static func makeDirectory(_ directory: String, mode: mode_t) throws(SystemError) {
        if mkdir(directory, mode) != 0, errno != EEXIST {
            throw SystemError("create directory", directory)
        }
    }

    /// Renames `source` onto `destination`, atomically replacing it.
    static func rename(_ source: String, onto destination: String) throws(SystemError) {
        guard Glibc.rename(source, destination) == 0 else { throw SystemError("rename onto", destination) }
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws(SystemError) {
        if unlink(path) != 0, errno != ENOENT {
            throw SystemError("remove", path)
        }
    }

    /// `fsync` on a directory, so a rename inside it survives a crash.
    static func syncDirectory(_ directory: String) throws(SystemError) {
        try FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY).sync()
    }

    /// `root/name`, without doubling a trailing slash.
    static func join(_ root: String, _ name: String) -> String {
        Directories.join(root, name)
    }
}

extension SystemError {
    /// The wire error for a failure inside the local provider's own files.
    var internalError: RolloutError {
        .internalError("local provider: \(description)")
    }
}
