public import Glibc

/// A failed system call: what was attempted, on which file, and `errno`.
public struct SystemError: Error, Sendable, CustomStringConvertible {
    /// The operation, as a verb phrase: `"open"`, `"write"`, `"rename onto"`.
    public var operation: String
    /// The file involved, as the caller named it.
    public var path: String
    /// `errno` after the call.
    public var code: Int32

    /// Captures the current `errno` (or `code`).
    public init(_ operation: String, _ path: String, code: Int32 = errno) {
        self.operation = operation
        self.path = path
        self.code = code
    }

    /// `cannot open '/x': No such file or directory`.
    public var description: String {
        "cannot \(operation) '\(path)': \(Self.message(for: code))"
    }

    /// `strerror`, the one place it is called.
    public static func message(for code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Calls `call` again while it fails with `EINTR`.
public func retryingInterrupts<Value: BinaryInteger>(_ call: () -> Value) -> Value {
    while true {
        let result = call()
        if result >= 0 || errno != EINTR { return result }
    }
}
