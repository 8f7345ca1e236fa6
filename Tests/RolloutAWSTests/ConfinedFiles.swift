import RolloutCore
import RolloutSystem

/// Test sources and destinations opened the way the daemon opens a client's `path`: beneath
/// a file root (here `/`), never by name inside the store. Confinement itself is tested in
/// RolloutSystemTests and end to end.
extension ObjectSource {
    static func file(path: String) throws(RolloutError) -> ObjectSource {
        do {
            return .file(try FileRoots(["/"]).openForReading(path))
        } catch let error as FileAccessError {
            throw RolloutError(error, param: "path")
        } catch {
            throw RolloutError.internalError("\(error)")
        }
    }
}

extension ObjectDestination {
    static func file(path: String) throws(RolloutError) -> ObjectDestination {
        do {
            return .file(try FileRoots(["/"]).openTarget(path))
        } catch let error as FileAccessError {
            throw RolloutError(error, param: "path")
        } catch {
            throw RolloutError.internalError("\(error)")
        }
    }
}

/// A regular file opened for reading as the daemon would (beneath `/`).
func openForTest(_ path: String) throws -> ReadableFile {
    try FileRoots(["/"]).openForReading(path)
}
