import Glibc

/// The few path operations the local provider needs, as throwing helpers over libc.
enum FileSystem {
    /// Creates `directory` and its missing parents with `mode`; existing directories are fine.
    static func makeDirectories(_ directory: String, mode: mode_t) throws(SystemCallError) {
        var built = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST {
                throw SystemCallError("create directory", built)
            }
        }
    }

    /// Creates one directory; an existing one is fine.
    static func makeDirectory(_ directory: String, mode: mode_t) throws(SystemCallError) {
        if mkdir(directory, mode) != 0, errno != EEXIST {
            throw SystemCallError("create directory", directory)
        }
    }

    /// Renames `source` onto `destination`, atomically replacing it.
    static func rename(_ source: String, onto destination: String) throws(SystemCallError) {
        guard Glibc.rename(source, destination) == 0 else { throw SystemCallError("rename onto", destination) }
    }

    /// Removes a file; a missing file is not an error.
    static func remove(_ path: String) throws(SystemCallError) {
        if unlink(path) != 0, errno != ENOENT {
            throw SystemCallError("remove", path)
        }
    }

    /// Removes a file while already handling another failure: errors are dropped because the
    /// original one is what the caller must see.
    static func removeQuietly(_ path: String) {
        unlink(path)
    }

    /// `fsync` on a directory, so a rename inside it survives a crash.
    static func syncDirectory(_ directory: String) throws(SystemCallError) {
        try FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY).sync()
    }

    /// The directory part of `path` (`"."` for a bare name).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `root/name`, without doubling a trailing slash.
    static func join(_ root: String, _ name: String) -> String {
        root.hasSuffix("/") ? root + name : root + "/" + name
    }
}
