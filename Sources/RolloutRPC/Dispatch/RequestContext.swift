public import RolloutCore

/// Who is on the other end of a connection, from `SO_PEERCRED` at connect time.
public struct Peer: Sendable, Hashable, CustomStringConvertible {
    /// Effective uid.
    public var uid: UInt32
    /// Effective gid.
    public var gid: UInt32
    /// Process id.
    public var pid: Int32

    /// Creates a peer record.
    public init(uid: UInt32, gid: UInt32, pid: Int32) {
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }

    /// `uid=… pid=…`.
    public var description: String { "uid=\(uid) pid=\(pid)" }
}

/// Everything a method handler may need besides its params.
public struct RequestContext: Sendable {
    /// The request's id.
    public var id: RequestID
    /// The method name.
    public var method: String
    /// The caller.
    public var peer: Peer
    /// Identifies the connection (for leases released when it closes).
    public var connectionID: UInt64
    /// Where to report progress; inactive without a `progressToken`.
    public var progress: ProgressReporter
    /// When `timeoutMs` expires, if given.
    public var deadline: ContinuousClock.Instant?

    /// Creates a context.
    public init(
        id: RequestID, method: String, peer: Peer, connectionID: UInt64, progress: ProgressReporter,
        deadline: ContinuousClock.Instant?
    ) {
        self.id = id
        self.method = method
        self.peer = peer
        self.connectionID = connectionID
        self.progress = progress
        self.deadline = deadline
    }
}

/// The connection a request arrived on, as the dispatcher sees it.
public struct ConnectionInfo: Sendable {
    /// Unique per daemon run.
    public var id: UInt64
    /// The caller.
    public var peer: Peer
    /// Writes one notification line to this connection (from any thread).
    public var notify: @Sendable (JSONValue) -> Void

    /// Creates a connection record.
    public init(id: UInt64, peer: Peer, notify: @escaping @Sendable (JSONValue) -> Void) {
        self.id = id
        self.peer = peer
        self.notify = notify
    }
}
