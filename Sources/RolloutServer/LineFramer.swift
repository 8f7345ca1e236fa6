package import NIOCore

/// One framed input line, or the marker for a line that exceeded the limit.
package enum FramedLine: Equatable {
    /// A line without its `\n` (and without a trailing `\r`); never empty.
    case line(ByteBuffer)
    /// A line longer than `max_request_bytes`; it was discarded through its `\n`.
    case tooLarge
}

/// Newline framing with a size cap: `\r\n` accepted, blank lines skipped, and an over-long line
/// discarded through its next `\n` (reported once as ``FramedLine/tooLarge``) without closing
/// the connection, so the client can read the error instead of getting `EPIPE`.
///
/// The cap counts a line's bytes without its terminator (`\n` or `\r\n`), so a line of exactly
/// `maxLineBytes` is accepted with either ending, however the bytes are split across reads.
package struct LineFramer: ByteToMessageDecoder {
    package typealias InboundOut = FramedLine

    private let maxLineBytes: Int
    private var discarding = false
    private var scanned = 0

    package init(maxLineBytes: Int) {
        self.maxLineBytes = maxLineBytes
    }

    package mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        let searchStart = view.index(view.startIndex, offsetBy: scanned)
        guard let newline = view[searchStart...].firstIndex(of: UInt8(ascii: "\n")) else {
            if discarding {
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                scanned = 0
            } else if !Self.mayStillFit(view, maxLineBytes: maxLineBytes) {
                discarding = true
                buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
                scanned = 0
                context.fireChannelRead(Self.wrapInboundOut(.tooLarge))
            } else {
                scanned = buffer.readableBytes
            }
            return .needMoreData
        }
        let length = newline - view.startIndex
        scanned = 0
        if discarding {
            discarding = false
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .continue
        }
        var line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        if line.readableBytes > 0, line.getInteger(at: line.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\r") {
            line.moveWriterIndex(to: line.writerIndex - 1)
        }
        if line.readableBytes > maxLineBytes {
            context.fireChannelRead(Self.wrapInboundOut(.tooLarge))
            return .continue
        }
        if line.readableBytesView.allSatisfy({ $0 == 0x20 || $0 == 0x09 }) {
            return .continue
        }
        context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        return .continue
    }

    package mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        // A final line without a newline still counts, as socat and `printf` clients send.
        if !discarding, buffer.readableBytes > 0 {
            buffer.writeInteger(UInt8(ascii: "\n"))
            return try decode(context: context, buffer: &buffer)
        }
        buffer.moveReaderIndex(forwardBy: buffer.readableBytes)
        return .needMoreData
    }

    /// Whether `partial`, a line whose `\n` has not arrived yet, can still end within the cap:
    /// it holds at most `maxLineBytes` bytes, or one more when that last byte is the `\r` of a
    /// `\r\n` ending.
    private static func mayStillFit(_ partial: ByteBufferView, maxLineBytes: Int) -> Bool {
        partial.count <= maxLineBytes || (partial.count == maxLineBytes + 1 && partial.last == UInt8(ascii: "\r"))
    }
}
