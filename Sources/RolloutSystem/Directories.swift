public import Glibc

/// Path operations on the daemon's own directories (state, local root, file roots at startup):
/// never on a path a client named, which goes through ``FileRoots``.
public enum Directories {
    /// Creates `directory` and its missing parents with `mode`; existing directories are fine.
    public static func make(_ directory: String, mode: mode_t = 0o700) throws(SystemError) {
        var built = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            built += "/" + component
            if mkdir(built, mode) != 0, errno != EEXIST {
                throw SystemError("create directory", built)
            }
        }
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
