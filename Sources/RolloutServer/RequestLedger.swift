package import RolloutCore
package import RolloutRPC

/// What one connection owes its client: every line it started (a single request or a batch)
/// until that line's answer is written.
///
/// Pure bookkeeping, no I/O and no clock; the connection handler keeps it on its event loop.
/// It exists so that shutdown keeps the protocol's promise that every request with an id is
/// answered exactly once: ``abandonAll()`` gives the answers still owed (-32800 for requests
/// that had not answered), and a late answer from a request that ignored its cancellation is
/// then dropped (``Completion/stale``).
package struct RequestLedger {
    /// One item of a started line: its line and its position in the batch (0 for a single).
    package struct ItemRef: Hashable {
        package var line: UInt64
        package var index: Int

        package init(line: UInt64, index: Int) {
            self.line = line
            self.index = index
        }
    }

    /// What to do after an item answered.
    package enum Completion: Equatable {
        /// Other items of the batch are still running.
        case pending
        /// The line is complete: write its answer, if it has one (notifications have none).
        case finished(JSONValue?)
        /// The line was abandoned at shutdown and already answered; drop this answer.
        case stale
    }

    /// An item still running.
    private struct Running {
        /// Its id when it is a request (for `$/cancelRequest`).
        var requestID: RequestID?
        /// The answer it gets if it is abandoned.
        var answerIfAbandoned: JSONValue?
    }

    private struct Line {
        var isBatch: Bool
        /// The answers already in, in arrival order.
        var answers: [JSONValue] = []
        /// Items still running, by position.
        var outstanding: [Int: Running]
    }

    private var lines: [UInt64: Line] = [:]
    private var nextLine: UInt64 = 0
    /// In-flight requests by id, for `$/cancelRequest` (the latest request wins a reused id).
    private var byID: [RequestID: ItemRef] = [:]

    /// The error a request gets when shutdown ends it.
    package static let shutdownError = RolloutError(.requestCancelled, "the request was cancelled: the daemon is shutting down")

    /// An empty ledger: nothing owed.
    package init() {}

    /// Lines started and not yet answered.
    package var openLines: Int { lines.count }

    /// Whether nothing is owed.
    package var isEmpty: Bool { lines.isEmpty }

    /// Records a started line: one item, or a batch's items in order. Returns the line, whose
    /// items are `ItemRef(line:index:)` for each position.
    package mutating func open(_ items: [IncomingItem], isBatch: Bool) -> UInt64 {
        let line = nextLine
        nextLine &+= 1
        var outstanding: [Int: Running] = [:]
        for (index, item) in items.enumerated() {
            var running = Running(answerIfAbandoned: Self.answerWithoutRunning(item))
            if case .request(let id, _, _) = item {
                running.requestID = id
                byID[id] = ItemRef(line: line, index: index)
            }
            outstanding[index] = running
        }
        lines[line] = Line(isBatch: isBatch, outstanding: outstanding)
        return line
    }

    /// The running item a `$/cancelRequest` for `id` refers to.
    package func item(for id: RequestID) -> ItemRef? {
        byID[id]
    }

    /// Records an item's answer (nil for a notification).
    package mutating func complete(_ ref: ItemRef, answer: JSONValue?) -> Completion {
        guard var line = lines[ref.line], let running = line.outstanding.removeValue(forKey: ref.index) else {
            return .stale
        }
        if let id = running.requestID, byID[id] == ref {
            byID[id] = nil
        }
        if let answer { line.answers.append(answer) }
        guard line.outstanding.isEmpty else {
            lines[ref.line] = line
            return .pending
        }
        lines[ref.line] = nil
        if line.isBatch {
            return .finished(line.answers.isEmpty ? nil : .array(line.answers))
        }
        return .finished(line.answers.first)
    }

    /// Ends every open line at shutdown: returns the answers still owed (the answers a batch
    /// already has, plus -32800 for each request still running) and forgets the lines, so
    /// that answers arriving later are ``Completion/stale``.
    package mutating func abandonAll() -> [JSONValue] {
        let owed = lines.sorted { $0.key < $1.key }.compactMap { _, line -> JSONValue? in
            let remaining = line.outstanding.sorted { $0.key < $1.key }.compactMap(\.value.answerIfAbandoned)
            let answers = line.answers + remaining
            if line.isBatch { return answers.isEmpty ? nil : .array(answers) }
            return answers.first
        }
        lines = [:]
        byID = [:]
        return owed
    }

    /// The answer for a line that is never run (read, but not started before shutdown):
    /// -32800 for each request, the error of an invalid item or line, nothing for notifications.
    package static func answerWithoutRunning(_ message: IncomingMessage) -> JSONValue? {
        switch message {
        case .rejected(let error):
            return Outgoing.error(id: .null, error)
        case .single(let item):
            return answerWithoutRunning(item)
        case .batch(let items):
            let answers = items.compactMap(answerWithoutRunning)
            return answers.isEmpty ? nil : .array(answers)
        }
    }

    private static func answerWithoutRunning(_ item: IncomingItem) -> JSONValue? {
        switch item {
        case .request(let id, _, _): Outgoing.error(id: id, shutdownError)
        case .notification: nil
        case .invalid(let id, let error): Outgoing.error(id: id, error)
        }
    }
}
