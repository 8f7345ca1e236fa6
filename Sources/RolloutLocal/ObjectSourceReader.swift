import RolloutCore
import RolloutSystem

/// The bytes of an `object.put`, sized before anything is written, then handed out in chunks
/// of at most ``chunkBytes`` so memory stays bounded for files of any size. A file source
/// arrives already opened (beneath its file root) and is read through that descriptor only.
struct ObjectSourceReader {
    /// The largest chunk handed out.
    static let chunkBytes = 1 << 20

    private let source: ObjectSource

    /// The size at open time (a file may still change while it is read).
    var size: Int64 {
        switch source {
        case .bytes(let bytes): Int64(bytes.count)
        case .file(let file): file.size
        }
    }

    init(_ source: ObjectSource) {
        self.source = source
    }

    /// Calls `consume` with each consecutive chunk, checking `cancellation` before each one.
    func forEachChunk(
        cancellation: CancellationFlag, _ consume: (UnsafeRawBufferPointer) throws -> Void
    ) throws {
        switch source {
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
            var offset: Int64 = 0
            while true {
                try cancellation.check()
                let count: Int
                do throws(SystemError) {
                    count = try file.read(into: buffer, at: offset)
                } catch {
                    throw RolloutError(error, param: "path")
                }
                if count == 0 { return }
                offset += Int64(count)
                try consume(UnsafeRawBufferPointer(rebasing: buffer[0..<count]))
            }
        }
    }
}
