public import RolloutSystem

/// An HTTP request as the AWS clients build it.
public struct HTTPRequest: Sendable {
    /// `GET`, `PUT`, ...
    public var method: String
    /// The exact wire URL (already percent-encoded).
    public var url: String
    /// Header lines, sent in order.
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: HTTPRequestBody

    /// Creates a request.
    public init(method: String, url: String, headers: [(name: String, value: String)] = [], body: HTTPRequestBody = .empty) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// A request body: nothing, bytes in memory, a range of a file streamed from disk, or bytes
/// produced as they are sent.
public enum HTTPRequestBody: Sendable {
    /// No body.
    case empty
    /// Bytes in memory.
    case bytes([UInt8])
    /// `length` bytes of an open file from `offset`, read (`pread`) as they are sent.
    case file(ReadableFile, offset: Int64, length: Int64)
    /// Bytes a ``HTTPBodySource`` produces as they are sent.
    case stream(any HTTPBodySource)

    /// The body's length in bytes.
    public var length: Int64 {
        switch self {
        case .empty: 0
        case .bytes(let bytes): Int64(bytes.count)
        case .file(_, _, let length): length
        case .stream(let source): source.length
        }
    }
}

/// A request body produced while it is sent (for example framed and hashed on the way), one
/// exchange at a time: the client calls ``rewind()`` before each attempt, then ``read(into:)``
/// from the thread running the exchange until it returns 0.
public protocol HTTPBodySource: AnyObject, Sendable {
    /// The exact number of bytes every attempt produces (the Content-Length).
    var length: Int64 { get }
    /// Starts over: the next read returns the body's first bytes.
    func rewind() throws(HTTPError)
    /// Fills the start of `buffer` with the next bytes and returns how many (0 at the end).
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(HTTPError) -> Int
}

/// Where a response body goes.
public enum HTTPResponseSink: Sendable {
    /// Kept in memory; more than `limit` bytes fail the request with ``HTTPError/Kind/tooLarge``.
    case memory(limit: Int)
    /// Streamed into an open temp file, emptied at the start of every attempt (the caller
    /// commits it into place).
    case file(TemporaryFile)
}

/// Connect and whole-request time limits.
public struct HTTPTimeouts: Sendable, Hashable {
    /// Time to establish the connection.
    public var connect: Duration
    /// Time for the whole exchange (must exceed long-poll waits).
    public var total: Duration
    /// Abort when fewer than 1 byte/s moved for this long (stalled transfers).
    public var stall: Duration

    /// Creates timeouts.
    public init(connect: Duration = .seconds(5), total: Duration = .seconds(60), stall: Duration = .seconds(30)) {
        self.connect = connect
        self.total = total
        self.stall = stall
    }
}

/// A response.
public struct HTTPResponse: Sendable {
    /// Status code.
    public var status: Int
    /// Header lines with lowercase names, in arrival order.
    public var headers: [(name: String, value: String)]
    /// The body, for ``HTTPResponseSink/memory(limit:)``.
    public var body: [UInt8]
    /// Bytes written, for ``HTTPResponseSink/file(_:)``.
    public var bytesWritten: Int64

    /// Creates a response.
    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8], bytesWritten: Int64 = 0) {
        self.status = status
        self.headers = headers
        self.body = body
        self.bytesWritten = bytesWritten
    }

    /// The first header named `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        let lower = name.lowercased()
        return headers.first { $0.name == lower }?.value
    }
}

/// Transport failures (no HTTP status), classified for retries.
public struct HTTPError: Error, Sendable, CustomStringConvertible {
    /// What kind of failure.
    public enum Kind: Sendable, Hashable {
        /// DNS or TCP connect failed.
        case connect
        /// A time limit passed.
        case timeout
        /// The connection broke mid-exchange.
        case io
        /// A memory sink's limit was exceeded.
        case tooLarge
        /// The request was cancelled.
        case cancelled
        /// A local problem (bad URL, unreadable body file).
        case local
    }

    /// What kind of failure.
    public var kind: Kind
    /// libcurl's text, without credentials (URLs carry none).
    public var message: String

    /// Creates an error.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// `kind: message`.
    public var description: String { "\(kind): \(message)" }
}

/// Progress of one exchange: bytes sent and received so far.
public typealias HTTPProgress = @Sendable (_ sent: Int64, _ received: Int64) -> Void

/// The HTTP client the AWS layer uses; tests swap in fakes.
public protocol HTTPClient: Sendable {
    /// Performs one exchange. Cancelling the calling task aborts the transfer.
    func execute(
        _ request: HTTPRequest, sink: HTTPResponseSink, timeouts: HTTPTimeouts, progress: HTTPProgress?
    ) async throws(HTTPError) -> HTTPResponse
}
