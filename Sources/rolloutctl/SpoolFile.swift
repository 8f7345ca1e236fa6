import Glibc
import RolloutCore
import RolloutSystem

/// A temporary file inside one of the daemon's file roots, through which `object put KEY -` and
/// `object get KEY -` move stdin and stdout of any size with constant memory.
///
/// The daemon reads and writes only files inside its `[server].file_roots`, by path, and
/// refuses FIFOs; inline bodies are capped at 8 MiB. So stdin is copied, in fixed-size chunks,
/// into a file created here (`O_EXCL | O_NOFOLLOW`, mode 0600) that the daemon then streams
/// with `object.put {path}`; and `object.get {path}` writes the object to a name here, which is
/// then copied to stdout in chunks. The file is removed afterwards either way.
struct SpoolFile: Sendable {
    /// The absolute path, inside the first file root.
    let path: String

    /// The copy buffer: memory use does not grow with the object.
    static let chunkBytes = 256 * 1024

    /// A fresh name in `root`: `.rolloutctl-<pid>-<random>.<suffix>` (nothing is created).
    init(root: String, suffix: String) {
        let random = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        path = Directories.join(root.absolutePath, ".rolloutctl-\(getpid())-\(random).\(suffix)")
    }

    /// Creates the file exclusively and copies all of stdin into it; returns the byte count.
    func fill(from input: FileDescriptor = .standardInput) throws -> Int64 {
        let file: FileDescriptor
        do {
            file = try FileDescriptor(path: path, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        } catch {
            throw RolloutError(.invalidParams, "cannot spool stdin inside the file root: \(error)")
        }
        return try Self.copy(from: input, to: file)
    }

    /// Opens the file the daemon wrote, removes its name, and copies it to stdout.
    func drain(to output: FileDescriptor = .standardOutput) throws -> Int64 {
        let file = try FileDescriptor(path: path, flags: O_RDONLY | O_NOFOLLOW)
        remove()
        return try Self.copy(from: file, to: output)
    }

    /// Removes the file if it is there.
    func remove() {
        try? Directories.removeFile(path)
    }

    /// Copies `source` to its end into `destination`, one chunk at a time.
    private static func copy(from source: FileDescriptor, to destination: FileDescriptor) throws(SystemError) -> Int64 {
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkBytes, alignment: 16)
        defer { buffer.deallocate() }
        var total: Int64 = 0
        while true {
            let count = try source.read(into: buffer)
            if count == 0 { return total }
            try destination.write(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            total += Int64(count)
        }
    }
}
