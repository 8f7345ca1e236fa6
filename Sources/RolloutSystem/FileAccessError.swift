/// Why a path a client named could not be opened beneath ``FileRoots``.
public struct FileAccessError: Error, Sendable, CustomStringConvertible {
    /// The class of failure, which decides the wire error.
    public struct Kind: Hashable, Sendable {
        private let raw: UInt8
        /// The path is outside every root, or resolving it would leave its root (`..`, a
        /// symbolic link pointing out, a magic link), or the daemon may not open it.
        public static let denied = Kind(raw: 0)
        /// The file or its directory does not exist.
        public static let notFound = Kind(raw: 1)
        /// The path is malformed, or names something other than a regular file.
        public static let invalid = Kind(raw: 2)
        /// Anything else (out of descriptors, I/O error).
        public static let failed = Kind(raw: 3)
    }

    /// The class of failure.
    public var kind: Kind
    /// What happened, naming the path as the client gave it.
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message.
    public var description: String { message }
}
