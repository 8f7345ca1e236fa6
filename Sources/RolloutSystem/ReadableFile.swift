/// A regular file opened for reading beneath ``FileRoots``, with its size at open time (it
/// may still change while it is read: readers check what they get).
public final class ReadableFile: Sendable {
    /// The open file; `pread` on it is safe from several threads.
    public let descriptor: FileDescriptor
    /// `st_size` when it was opened.
    public let size: Int64

    init(descriptor: FileDescriptor, size: Int64) {
        self.descriptor = descriptor
        self.size = size
    }

    /// The path the client named, for messages.
    public var path: String { descriptor.path }

    /// Reads up to `buffer.count` bytes at `offset`; 0 at end of file.
    public func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) throws(SystemError) -> Int {
        try descriptor.read(into: buffer, at: offset)
    }
}
