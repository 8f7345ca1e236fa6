import Glibc

/// Removes `path` and everything beneath it, like `rm -rf`, without a child process: `system`
/// from a test holds one of the cooperative pool's threads (two on a 2-core machine) until the
/// forked `rm` exits, and under load that stalled other tests' timers. Symbolic links are
/// removed, never followed.
public func removeTree(_ path: String) {
    var info = stat()
    guard lstat(path, &info) == 0 else { return }
    guard info.st_mode & S_IFMT == S_IFDIR else {
        unlink(path)
        return
    }
    var names: [String] = []
    if let directory = opendir(path) {
        while let entry = readdir(directory) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { bytes in
                String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        closedir(directory)
    }
    for name in names { removeTree(path + "/" + name) }
    rmdir(path)
}
