import RolloutCore
import RolloutSystem

/// Where object bodies live: `objects/ab/abcdef…`, one file per stored body, named by a random
/// id with a two-character fan-out directory. Keys map to blobs through the object index
/// (``LocalObjectIndex``), so keys longer than `NAME_MAX`, and both `a` and `a/b`, need nothing
/// special on disk.
///
/// A blob that may exist on disk without an index row pointing at it (being written, or just
/// replaced or deleted) is journalled in the index; ``LocalObjectIndex/collectBlobs(_:removing:)``
/// removes such blobs (with ``removeFiles(of:)``), so a crash leaves no orphans behind after the
/// next start.
struct BlobDirectory: Sendable {
    /// `root/objects`.
    let path: String

    /// The fan-out directory of `blob`.
    func directory(of blob: String) -> String {
        Directories.join(path, String(blob.prefix(2)))
    }

    /// The final path of `blob`.
    func path(of blob: String) -> String {
        Directories.join(directory(of: blob), blob)
    }

    /// Where `blob` is written before it is renamed into place.
    func temporaryPath(of blob: String) -> String {
        path(of: blob) + ".tmp"
    }

    /// Removes the files of `blob` (its temp file and its final file); absent files are fine.
    func removeFiles(of blob: String) throws {
        try Directories.removeFile(temporaryPath(of: blob))
        try Directories.removeFile(path(of: blob))
    }
}
