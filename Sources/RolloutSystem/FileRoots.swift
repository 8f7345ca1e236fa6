import Glibc

/// The directories that `path` params may read and write (`[server].file_roots`), each held
/// open from startup, so that every file a client names is opened beneath a root's
/// descriptor and nothing is ever looked up a second time by name.
///
/// A client's path is matched to a root lexically (against the root as configured and as
/// its real path), and the rest of it is resolved by the kernel beneath that root's
/// descriptor (``OpenBeneath``): `..`, symbolic links and magic links that would leave the
/// root fail, whatever a client swaps in while the call runs. The opened descriptor is
/// checked with `fstat`; opening never blocks (`O_NONBLOCK`, so a FIFO cannot stall it).
public final class FileRoots: Sendable {
    private struct Root: Sendable {
        /// The root held open.
        let directory: FileDescriptor
        /// Its components as configured (absolute) and as its real path.
        let spellings: [[Substring]]
    }

    private let roots: [Root]
    private let workingDirectory: String
    /// Always resolve with the `O_NOFOLLOW` walk (tests of the fallback).
    let walkOnly: Bool
    /// The roots as configured, for messages.
    public let paths: [String]

    /// Creates missing roots (mode 0700) and opens each one.
    ///
    /// - Parameters:
    ///   - paths: `[server].file_roots`.
    ///   - workingDirectory: what relative client paths are relative to (the daemon's).
    public convenience init(_ paths: [String], workingDirectory: String = Directories.current()) throws(SystemError) {
        try self.init(paths, workingDirectory: workingDirectory, walkOnly: false)
    }

    init(_ paths: [String], workingDirectory: String, walkOnly: Bool) throws(SystemError) {
        var roots: [Root] = []
        for path in paths {
            let absolute = path.hasPrefix("/") ? path : Directories.join(workingDirectory, path)
            try Directories.make(absolute)
            let directory = try FileDescriptor(path: absolute, flags: O_RDONLY | O_DIRECTORY)
            var spellings = [Self.components(absolute)]
            if let real = Directories.realPath(absolute), Self.components(real) != spellings[0] {
                spellings.append(Self.components(real))
            }
            roots.append(Root(directory: directory, spellings: spellings))
        }
        self.roots = roots
        self.paths = paths
        self.workingDirectory = workingDirectory
        self.walkOnly = walkOnly
    }

    /// Opens the regular file at `path` for reading.
    public func openForReading(_ path: String) throws(FileAccessError) -> ReadableFile {
        let (root, relative) = try locate(path)
        let fd = OpenBeneath.open(
            relative, beneath: root.directory.rawValue, flags: O_RDONLY | O_NONBLOCK | O_NOCTTY, walkOnly: walkOnly
        )
        guard fd >= 0 else { throw openFailure(path, code: errno) }
        let file = FileDescriptor(adopting: fd, path: path)
        let info: stat
        do {
            info = try file.status()
        } catch {
            throw FileAccessError(.failed, error.description)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw FileAccessError(.invalid, "'\(path)' is \(Self.kind(of: info.st_mode)), not a regular file")
        }
        let flags = fcntl(fd, F_GETFL)
        guard flags >= 0, fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) == 0 else {
            throw FileAccessError(.failed, SystemError("set flags on", path).description)
        }
        return ReadableFile(descriptor: file, size: Int64(info.st_size))
    }

    /// Opens the directory `path` is in, for a file to be created there (through a temp file
    /// renamed onto `path`'s name).
    public func openTarget(_ path: String) throws(FileAccessError) -> FileTarget {
        let (root, relative) = try locate(path)
        let (directoryPart, name) = Self.split(relative)
        guard !name.isEmpty, name != ".", name != ".." else {
            throw FileAccessError(.invalid, "'\(path)' does not name a file")
        }
        let fd = OpenBeneath.open(
            directoryPart, beneath: root.directory.rawValue, flags: O_RDONLY | O_DIRECTORY, walkOnly: walkOnly
        )
        guard fd >= 0 else {
            let code = errno
            if code == ENOENT { throw FileAccessError(.notFound, "directory of '\(path)' does not exist") }
            throw openFailure(path, code: code)
        }
        let directory = FileDescriptor(adopting: fd, path: Directories.parent(of: path))
        var info = stat()
        if fstatat(fd, name, &info, AT_SYMLINK_NOFOLLOW) == 0, info.st_mode & S_IFMT == S_IFDIR {
            throw FileAccessError(.invalid, "'\(path)' is a directory")
        }
        return FileTarget(directory: directory, name: name, path: path)
    }

    /// The root `path` lies in and the rest of the path, relative to it.
    private func locate(_ path: String) throws(FileAccessError) -> (Root, String) {
        guard !path.isEmpty else { throw FileAccessError(.invalid, "the path is empty") }
        guard !path.utf8.contains(0) else { throw FileAccessError(.invalid, "'\(path)' contains a NUL byte") }
        let absolute = path.hasPrefix("/") ? path : Directories.join(workingDirectory, path)
        let components = Self.components(absolute)
        var best: (root: Root, depth: Int)?
        for root in roots {
            // Byte-for-byte: String equality is canonical equivalence, and "é" and "e\u{301}"
            // name different directories on disk.
            for spelling in root.spellings where spelling.count <= components.count
                && zip(spelling, components).allSatisfy({ $0.utf8.elementsEqual($1.utf8) })
            {
                if spelling.count > best?.depth ?? -1 { best = (root, spelling.count) }
            }
        }
        guard let best else {
            throw FileAccessError(.denied, "'\(path)' is outside [server].file_roots (\(paths.joined(separator: ", ")))")
        }
        let rest = components.dropFirst(best.depth)
        return (best.root, rest.isEmpty ? "." : rest.joined(separator: "/"))
    }

    private func openFailure(_ path: String, code: Int32) -> FileAccessError {
        switch code {
        case EXDEV, ELOOP:
            FileAccessError(
                .denied,
                "'\(path)' leaves [server].file_roots (\(paths.joined(separator: ", "))) through '..' or a symbolic link"
            )
        case EACCES, EPERM:
            FileAccessError(.denied, SystemError("open", path, code: code).description)
        case ENOENT:
            FileAccessError(.notFound, "'\(path)' does not exist")
        case ENXIO, EISDIR, ENOTDIR, ENAMETOOLONG:
            FileAccessError(.invalid, SystemError("open", path, code: code).description)
        default:
            FileAccessError(.failed, SystemError("open", path, code: code).description)
        }
    }

    /// Path components without empty and `.` ones; `..` is kept for the kernel to judge.
    private static func components(_ path: String) -> [Substring] {
        path.split(separator: "/").filter { $0 != "." }
    }

    private static func split(_ relative: String) -> (directory: String, name: String) {
        guard let slash = relative.lastIndex(of: "/") else { return (".", relative) }
        return (String(relative[..<slash]), String(relative[relative.index(after: slash)...]))
    }

    private static func kind(of mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFDIR: "a directory"
        case S_IFIFO: "a FIFO"
        case S_IFCHR: "a character device"
        case S_IFBLK: "a block device"
        case S_IFSOCK: "a socket"
        default: "not a regular file"
        }
    }
}
