public import Glibc

/// Path operations on the daemon's own directories and files (state, local root, blobs, file
/// roots at startup): never on a path a client named, which goes through ``FileRoots``.
public enum Directories {
    /// Creates `directory` and its missing parents with `mode`; existing directories are fine.
    /// One `mkdir` when the parent exists.
    public static func make(_ directory: String, mode: mode_t = 0o700) throws(SystemError) {
        if mkdir(directory, mode) == 0 || errno == EEXIST { return }
        var built = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST {
                throw SystemError("create directory", built)
            }
        }
    }

    /// Removes the file at `path`; a missing file is not an error.
    public static func removeFile(_ path: String) throws(SystemError) {
        if unlink(path) != 0, errno != ENOENT {
            throw SystemError("remove", path)
        }
    }

    /// Renames `source` onto `destination`, atomically replacing it.
    public static func rename(_ source: String, onto destination: String) throws(SystemError) {
        guard Glibc.rename(source, destination) == 0 else { throw SystemError("rename onto", destination) }
    }

    /// `fsync` on a directory, so a rename or a new file inside it survives a crash.
    public static func sync(_ directory: String) throws(SystemError) {
        try FileDescriptor(path: directory, flags: O_RDONLY | O_DIRECTORY).sync()
    }

    /// `stat` of `path` (symbolic links followed).
    public static func status(_ path: String) throws(SystemError) -> stat {
        var info = stat()
        guard stat(path, &info) == 0 else { throw SystemError("stat", path) }
        return info
    }

    /// Whether something exists at `path` (`access(F_OK)`, symbolic links followed).
    public static func exists(_ path: String) -> Bool {
        access(path, F_OK) == 0
    }

    /// The directory part of `path` (`"."` for a bare name, `"/"` for a top-level name).
    public static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }

    /// `root/name`, without doubling a trailing slash.
    public static func join(_ root: String, _ name: String) -> String {
        root.hasSuffix("/") ? root + name : root + "/" + name
    }

    /// The real path of an existing file (symlinks resolved), or nil with `errno` set.
    public static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The current working directory.
    public static func current() -> String {
        guard let cwd = getcwd(nil, 0) else { return "/" }
        defer { free(cwd) }
        return String(cString: cwd)
    }
}
