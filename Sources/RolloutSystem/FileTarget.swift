import Glibc
import Synchronization

/// Where a client asked a file to be written: the directory, opened beneath ``FileRoots``,
/// and the name in it. Bytes go to a ``TemporaryFile`` created in that same directory
/// (`O_EXCL | O_NOFOLLOW`) and renamed onto the name with `renameat` on the same descriptor,
/// so a reader never sees a partial file and nothing is written outside the roots.
public final class FileTarget: Sendable {
    /// The directory, held open.
    let directory: FileDescriptor
    /// The file's name in it.
    public let name: String
    /// The path the client named, for messages.
    public let path: String

    init(directory: FileDescriptor, name: String, path: String) {
        self.directory = directory
        self.name = name
        self.path = path
    }

    /// How many random names are tried before giving up.
    private static let createAttempts = 8

    /// Creates a new, empty temp file `.rolloutd-<random>.tmp` next to the target.
    public func createTemporary() throws(SystemError) -> TemporaryFile {
        for _ in 0..<Self.createAttempts {
            let name = ".rolloutd-\(Self.randomHex()).tmp"
            let fd = retryingInterrupts {
                openat(directory.rawValue, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o666)
            }
            if fd >= 0 {
                return TemporaryFile(target: self, name: name, file: FileDescriptor(adopting: fd, path: path))
            }
            guard errno == EEXIST else { throw SystemError("create a temp file for", path) }
        }
        throw SystemError("create a temp file for", path, code: EEXIST)
    }

    private static func randomHex() -> String {
        var generator = SystemRandomNumberGenerator()
        let value = generator.next() as UInt64
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: 16 - hex.count) + hex
    }
}

/// A temp file next to a ``FileTarget``: written, then either committed (synced and renamed
/// onto the target) or discarded (unlinked). One that is dropped without either is
/// discarded, so no path leaves a temp file behind.
public final class TemporaryFile: Sendable {
    private let target: FileTarget
    private let name: String
    /// The open temp file.
    public let file: FileDescriptor
    private let finished = Atomic(false)

    init(target: FileTarget, name: String, file: FileDescriptor) {
        self.target = target
        self.name = name
        self.file = file
    }

    deinit {
        discard()
    }

    /// Syncs the file, renames it onto the target's name in the same directory descriptor,
    /// and syncs the directory.
    public func commit() throws(SystemError) {
        try file.sync()
        guard renameat(target.directory.rawValue, name, target.directory.rawValue, target.name) == 0 else {
            let error = SystemError("rename onto", target.path)
            discard()
            throw error
        }
        finished.store(true, ordering: .releasing)
        try target.directory.sync()
    }

    /// Removes the temp file (errors are dropped: this runs while handling another failure).
    public func discard() {
        guard !finished.exchange(true, ordering: .acquiringAndReleasing) else { return }
        unlinkat(target.directory.rawValue, name, 0)
    }
}
