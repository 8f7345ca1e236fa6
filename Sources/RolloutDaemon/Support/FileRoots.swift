import Glibc
import RolloutCore

/// Confines `path` params to `[server].file_roots`: paths are resolved with symlinks, and
/// anything that lands outside every root is AccessDenied.
struct FileRoots: Sendable {
    /// The roots, as real absolute paths.
    let roots: [String]

    /// Creates missing roots (mode 0700) and resolves them.
    init(_ paths: [String]) throws(RolloutError) {
        var resolved: [String] = []
        for path in paths {
            Self.makeDirectories(path)
            guard let real = Self.realPath(path) else {
                throw RolloutError(.configInvalid, "file root \(path) cannot be resolved: \(String(cString: strerror(errno)))")
            }
            resolved.append(real)
        }
        roots = resolved
    }

    /// The real path of an existing file to read.
    func resolveForReading(_ path: String, field: String = "path") throws(RolloutError) -> String {
        guard let real = Self.realPath(path) else {
            if errno == ENOENT {
                throw RolloutError(.notFound, "param '\(field)': \(path) does not exist")
            }
            throw RolloutError(.accessDenied, "param '\(field)': \(path) cannot be resolved: \(String(cString: strerror(errno)))")
        }
        try confine(real, original: path, field: field)
        var info = stat()
        guard stat(real, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw RolloutError.invalidParams("param '\(field)': \(path) is not a regular file")
        }
        return real
    }

    /// The real path of a file to create or replace: its directory must resolve inside a root.
    func resolveForWriting(_ path: String, field: String = "path") throws(RolloutError) -> String {
        let (directory, name) = Self.split(path)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw RolloutError.invalidParams("param '\(field)' must name a file")
        }
        guard let realDirectory = Self.realPath(directory) else {
            throw RolloutError(.notFound, "param '\(field)': directory \(directory) does not exist")
        }
        try confine(realDirectory, original: path, field: field)
        let target = realDirectory == "/" ? "/" + name : realDirectory + "/" + name
        var info = stat()
        if lstat(target, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
            throw RolloutError.invalidParams("param '\(field)': \(path) is a directory")
        }
        return target
    }

    private func confine(_ real: String, original: String, field: String) throws(RolloutError) {
        let inside = roots.contains { root in
            real == root || real.hasPrefix(root.hasSuffix("/") ? root : root + "/")
        }
        guard inside else {
            throw RolloutError(
                .accessDenied,
                "param '\(field)': \(original) is outside [server].file_roots (\(roots.joined(separator: ", ")))"
            )
        }
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let directory = String(path[..<slash])
        return (directory.isEmpty ? "/" : directory, String(path[path.index(after: slash)...]))
    }

    static func makeDirectories(_ path: String) {
        var built = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            built += "/" + component
            _ = mkdir(built, 0o700)
        }
    }
}
