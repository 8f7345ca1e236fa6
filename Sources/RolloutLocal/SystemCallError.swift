import RolloutCore
import Glibc

/// A failed system call on a file: what was attempted, on which path, and `errno`.
struct SystemCallError: Error, Sendable, CustomStringConvertible {
    /// The operation, as a verb phrase: `"open"`, `"write"`, `"rename onto"`.
    var operation: String
    /// The file involved.
    var path: String
    /// `errno` after the call.
    var code: Int32

    /// Captures the current `errno`.
    init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// `cannot open '/x': No such file or directory`.
    var description: String {
        "cannot \(operation) '\(path)': \(String(cString: strerror(code)))"
    }

    /// The wire error for a failure on a file the caller named in `param` (`path`): denied
    /// access is AccessDenied, a missing or wrong kind of file is InvalidParams, the rest
    /// is internal.
    func rolloutError(param: String) -> RolloutError {
        switch code {
        case EACCES, EPERM, EROFS:
            RolloutError(.accessDenied, "param '\(param)': \(description)")
        case ENOENT, ENOTDIR, EISDIR, ELOOP, ENAMETOOLONG:
            .invalidParams("param '\(param)': \(description)")
        default:
            .internalError("param '\(param)': \(description)")
        }
    }

    /// The wire error for a failure inside the local provider's own files.
    var internalError: RolloutError {
        .internalError("local provider: \(description)")
    }
}
