import Glibc
import RolloutCore

/// The bytes of an `object.put`, opened and sized before anything is written, then handed
/// out in chunks of at most ``chunkBytes`` so memory stays bounded for files of any size.
struct ObjectSourceReader {
    /// The largest chunk handed out.
    static let chunkBytes = 1 << 20

    private enum Body {
        case bytes([UInt8])
        case file(FileDescriptor)
    }

    private let body: Body
    /// The size at open time (a file may still change while it is read).
    let size: Int64

    /// Opens `source`; a file must be a regular file.
    init(_ source: ObjectSource) throws(RolloutError) {
        switch source {
        case .bytes(let bytes):
            body = .bytes(bytes)
            size = Int64(bytes.count)
        case .file(let path):
            let file: FileDescriptor
            let status: stat
            do throws(SystemCallError) {
                file = try FileDescriptor(path: path, flags: O_RDONLY)
                status = try file.status()
            } catch {
                throw error.rolloutError(param: "path")
            }
            guard status.st_mode & S_IFMT == S_IFREG else {
                throw .invalidParams("param 'path': '\(path)' is not a regular file")
            }
            body = .file(file)
            size = Int64(status.st_size)
        }
    }

    /// Calls `consume` with each consecutive chunk, checking `cancellation` before each one.
    func forEachChunk(
        cancellation: CancellationFlag, _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        switch body {
        case .bytes(let bytes):
            try bytes.withUnsafeBytes { all in
                for start in stride(from: 0, to: all.count, by: Self.chunkBytes) {
                    try cancellation.check()
                    let end = min(start + Self.chunkBytes, all.count)
                    try consume(UnsafeRawBufferPointer(rebasing: all[start..<end]))
                }
            }
        case .file(let file):
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkBytes, alignment: 16)
            defer { buffer.deallocate() }
            while true {
                try cancellation.check()
                let count: Int
                do throws(SystemCallError) {
                    count = try file.read(into: buffer)
                } catch {
                    throw error.rolloutError(param: "path")
                }
                if count == 0 { return }
                try consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        }
    }
}
