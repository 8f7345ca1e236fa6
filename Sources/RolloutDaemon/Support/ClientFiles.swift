import RolloutCore
import RolloutSystem

/// The files `path` params name, opened beneath `[server].file_roots` (``FileRoots``) on a
/// blocking thread, never on the event loop or the cooperative pool.
struct ClientFiles: Sendable {
    let roots: FileRoots
    private let io = BlockingIO(label: "rolloutd.files")

    init(roots: FileRoots) {
        self.roots = roots
    }

    /// The regular file `path`, open for reading.
    func openForReading(_ path: String, param: String = "path") async throws(RolloutError) -> ReadableFile {
        let roots = roots
        do {
            return try await io.run { _ throws(FileAccessError) in try roots.openForReading(path) }
        } catch {
            throw RolloutError(error, param: param)
        }
    }

    /// The directory `path` is in, open, for a file to be written there.
    func openTarget(_ path: String, param: String = "path") async throws(RolloutError) -> FileTarget {
        let roots = roots
        do {
            return try await io.run { _ throws(FileAccessError) in try roots.openTarget(path) }
        } catch {
            throw RolloutError(error, param: param)
        }
    }
}
