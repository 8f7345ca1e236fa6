import RolloutCore
import RolloutSystem

/// The provider's own `root/local.sqlite` of earlier versions, before its tables moved into the
/// state database: imported once at startup, then renamed `local.sqlite.imported`.
enum LegacyDatabase {
    /// Copies the rows of `path` into `tables` in one transaction (rows already there win), then
    /// renames the file and its WAL files out of the way. Nothing to do when `path` is absent.
    ///
    /// A crash after the commit and before the rename imports again at the next start, which
    /// changes nothing: every table has a primary key and existing rows are kept.
    static func importIfPresent(_ path: String, into tables: any LocalProviderTables) throws {
        guard Directories.exists(path) else { return }
        try tables.importLegacyDatabase(at: path)
        // Importing detached (closed) the file, checkpointing its WAL when it had one.
        for suffix in ["", "-wal", "-shm"] where Directories.exists(path + suffix) {
            do {
                try Directories.rename(path + suffix, onto: path + ".imported" + suffix)
            } catch {
                throw RolloutError(
                    .configInvalid,
                    "[cloud.local].root: cannot rename '\(path + suffix)' after importing it: \(SystemError.message(for: error.code))"
                )
            }
        }
    }
}
