import NIOCore
import NIOEmbedded
import NIOTestUtils
@testable import RolloutServer
import Testing

@Suite("Line framing")
struct LineFramerTests {
    /// The cap used throughout: small, so the boundaries are easy to spell out.
    static let limit = 8

    static func line(_ text: String) -> FramedLine {
        .line(ByteBuffer(string: text))
    }

    static func content(_ count: Int) -> String {
        String(repeating: "x", count: count)
    }

    /// Every line length around the cap, with each ending; each input is one framed message,
    /// and the verifier also feeds it byte by byte, in random splits and all at once.
    @Test(arguments: ["\n", "\r\n"])
    func boundaries(ending: String) throws {
        let pairs: [(String, [FramedLine])] = [
            (Self.content(Self.limit - 1) + ending, [Self.line(Self.content(Self.limit - 1))]),
            (Self.content(Self.limit) + ending, [Self.line(Self.content(Self.limit))]),
            (Self.content(Self.limit + 1) + ending, [.tooLarge]),
            (Self.content(Self.limit * 3) + ending, [.tooLarge]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) {
            LineFramer(maxLineBytes: Self.limit)
        }
    }

    @Test func blankLinesAreSkippedAndAStrayCarriageReturnCounts() throws {
        let pairs: [(String, [FramedLine])] = [
            ("\n", []),
            ("\r\n", []),
            (" \t \r\n", []),
            // A `\r` before the `\r\n` is content: 8 bytes plus it is one byte too many.
            (Self.content(Self.limit) + "\r\r\n", [.tooLarge]),
            (Self.content(Self.limit - 1) + "\r\r\n", [Self.line(Self.content(Self.limit - 1) + "\r")]),
        ]
        try ByteToMessageDecoderVerifier.verifyDecoder(stringInputOutputPairs: pairs) {
            LineFramer(maxLineBytes: Self.limit)
        }
    }

    /// Two reads split at every position: the outcome never depends on where a read ends.
    @Test(arguments: [
        (content(limit - 1) + "\r\n", [line(content(limit - 1))]),
        (content(limit) + "\r\n", [line(content(limit))]),
        (content(limit) + "\n", [line(content(limit))]),
        (content(limit + 1) + "\r\n", [FramedLine.tooLarge]),
        (content(limit + 1) + "\n" + "ab\r\n", [FramedLine.tooLarge, line("ab")]),
        (content(limit) + "\r" + "x\n" + "ab\n", [FramedLine.tooLarge, line("ab")]),
    ])
    func splitAcrossTwoReads(input: String, expected: [FramedLine]) throws {
        let bytes = Array(input.utf8)
        for split in 0...bytes.count {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFramer(maxLineBytes: Self.limit)))
            try channel.writeInbound(ByteBuffer(bytes: bytes[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: bytes[split...]))
            var produced: [FramedLine] = []
            while let output = try channel.readInbound(as: FramedLine.self) {
                produced.append(output)
            }
            #expect(produced == expected, "split at \(split)")
            _ = try channel.finish()
        }
    }

    @Test func aFinalLineWithoutNewlineCountsAtEOF() throws {
        for input in [Self.content(Self.limit), Self.content(Self.limit) + "\r"] {
            let channel = EmbeddedChannel(handler: ByteToMessageHandler(LineFramer(maxLineBytes: Self.limit)))
            try channel.writeInbound(ByteBuffer(string: input))
            #expect(try channel.readInbound(as: FramedLine.self) == nil)
            channel.pipeline.fireChannelInactive()
            #expect(try channel.readInbound(as: FramedLine.self) == Self.line(Self.content(Self.limit)))
            _ = try channel.finish()
        }
    }
}
