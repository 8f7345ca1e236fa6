public import RolloutSystem

extension RolloutError {
    /// The wire error for a path param that could not be opened beneath the file roots:
    /// outside or escaping them (or not permitted) is AccessDenied, absent is NotFound, a
    /// malformed path or something other than a regular file is InvalidParams.
    public init(_ error: FileAccessError, param: String) {
        let message = "param '\(param)': \(error.message)"
        switch error.kind {
        case .denied: self.init(.accessDenied, message)
        case .notFound: self.init(.notFound, message)
        case .invalid: self.init(.invalidParams, message)
        default: self.init(.internalError, message)
        }
    }

    /// The wire error for a failed read or write on a file the caller named in `param`.
    public init(_ error: SystemError, param: String) {
        self.init(.internalError, "param '\(param)': \(error.description)")
    }
}
