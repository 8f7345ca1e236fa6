package import RolloutCore
package import RolloutRPC

/// The state of one connection, as a pure state machine: every event the transport sees
/// (a line read, a request answered, writability, EOF, peer gone, the shutdown steps) goes in,
/// and the effects to carry out come back as ``Action``s, in order. No I/O, no clock, no NIO
/// types; ``ConnectionHandler`` executes the actions on the channel's event loop.
///
/// What it decides:
/// - **Concurrency and backpressure**: at most `maxInflight` lines (a single request, or a
///   whole batch) run at once. Lines beyond that, or read while the channel is not writable,
///   wait in a queue, and reading pauses while anything waits; it resumes once there is room.
///   Nothing is dropped.
/// - **Control notifications**: `$/cancelRequest {id}` cancels the running request with that
///   id, which then answers -32800 itself; an unknown id is ignored, and so are other `$/`
///   notifications. None is dispatched.
/// - **Answers**: a line's answer is written once the whole line is done (a batch as one array;
///   nothing for notifications), through the ``RequestLedger``, so every request with an id is
///   answered exactly once, also when shutdown cuts it short.
/// - **Ends**: after EOF (a half-close) the requests in flight and the queued lines finish, then
///   the connection closes; when the peer goes away, everything still running is cancelled. At
///   shutdown: no new line starts, then (grace over) running requests are cancelled, then what
///   is still owed is answered (-32800 for requests still running and for lines never started).
package struct ConnectionStateMachine {
    /// The limits of `[server]` that one connection enforces.
    package struct Configuration: Sendable {
        /// `max_inflight_per_connection`: lines running at once.
        package var maxInflight: Int
        /// `max_request_bytes`, named in the answer to an over-long line.
        package var maxRequestBytes: Int
        /// `max_batch_items`: a longer batch is one -32600.
        package var maxBatchItems: Int

        /// Creates a configuration.
        package init(maxInflight: Int, maxRequestBytes: Int, maxBatchItems: Int) {
            self.maxInflight = maxInflight
            self.maxRequestBytes = maxRequestBytes
            self.maxBatchItems = maxBatchItems
        }
    }

    /// An effect for the transport to carry out.
    package enum Action: Equatable {
        /// Run `item` in its own task, off the event loop; report its answer (nil for a
        /// notification) with ``requestFinished(_:answer:)``.
        case dispatch(IncomingItem, RequestLedger.ItemRef)
        /// Cancel the task running this item (`$/cancelRequest`); it answers -32800 itself.
        case cancel(RequestLedger.ItemRef)
        /// Cancel every task still running.
        case cancelAll
        /// Write one line (an answer or an error).
        case write(JSONValue)
        /// Stop reading (backpressure, or shutdown).
        case pauseReading
        /// Read again.
        case resumeReading
        /// The peer may not use the socket: write this error, close the output so that the
        /// peer reads it, and discard its input until EOF (then ``close``).
        case refuse(JSONValue)
        /// Flush and close: nothing more is owed, or the refused peer ended its input.
        case close
        /// Shutdown: flush what was written, for a bounded time, and close.
        case closeAfterFlush
    }

    private enum State {
        /// Peer credentials not checked yet: lines wait, nothing runs.
        case admitting
        /// Serving requests.
        case serving
        /// The peer was refused: input is discarded until EOF.
        case refused
        /// Server shutdown began: no new line starts; running ones go on.
        case draining
        /// Closing or closed: nothing more is written.
        case closed
    }

    private let configuration: Configuration
    private var state: State = .admitting
    private var ledger = RequestLedger()
    /// Lines read and not started yet, oldest first from `pendingStart`.
    private var pending: [IncomingMessage] = []
    private var pendingStart = 0
    /// Whether the peer ended its input (EOF).
    private var inputEnded = false
    /// Whether the channel accepts writes without buffering past its high watermark.
    private var isWritable = true
    /// Whether the transport was last told to read.
    private var reading = true

    /// A connection whose peer has not been checked yet.
    package init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Lines started and not yet answered.
    package var openLines: Int { ledger.openLines }

    /// Lines read and not started yet.
    package var queuedLines: Int { pending.count - pendingStart }

    // MARK: - Events

    /// The peer's credentials were accepted: start serving what was read meanwhile.
    package mutating func peerAdmitted() -> [Action] {
        guard case .admitting = state else { return [] }
        state = .serving
        return startQueuedLines()
    }

    /// The peer's uid may not use the socket.
    package mutating func peerRefused(_ error: RolloutError) -> [Action] {
        guard case .admitting = state else { return [] }
        state = .refused
        clearPending()
        return [.refuse(Outgoing.error(id: .null, error))]
    }

    /// One framed line (without its newline).
    package mutating func lineReceived(_ line: UnsafeRawBufferPointer) -> [Action] {
        messageReceived(Envelope.parse(line: line, maxBatchItems: configuration.maxBatchItems))
    }

    /// A line longer than `max_request_bytes` was discarded: it is answered -32600 (TooLarge,
    /// id null) in its turn, like a malformed line; the connection stays open.
    package mutating func lineTooLarge() -> [Action] {
        let limit = configuration.maxRequestBytes
        return messageReceived(.rejected(Envelope.tooLarge("request line exceeds max_request_bytes (\(limit) bytes)")))
    }

    /// An item's task ended with `answer` (nil for a notification).
    package mutating func requestFinished(_ ref: RequestLedger.ItemRef, answer: JSONValue?) -> [Action] {
        guard case .finished(let lineAnswer) = ledger.complete(ref, answer: answer) else { return [] }
        if case .closed = state { return [] }
        var actions: [Action] = []
        if let lineAnswer { actions.append(.write(lineAnswer)) }
        return actions + startQueuedLines()
    }

    /// The channel's writability changed.
    package mutating func writabilityChanged(isWritable: Bool) -> [Action] {
        self.isWritable = isWritable
        return startQueuedLines()
    }

    /// The peer closed its output (EOF on a half-closed connection): what is running and
    /// queued still finishes and is answered, then the connection closes.
    package mutating func inputClosed() -> [Action] {
        inputEnded = true
        switch state {
        case .refused:
            state = .closed
            return [.close]
        case .admitting, .closed:
            return []
        case .serving, .draining:
            return startQueuedLines()
        }
    }

    /// The connection is gone: every running request is cancelled; nothing more is written.
    package mutating func channelInactive() -> [Action] {
        state = .closed
        clearPending()
        return [.cancelAll]
    }

    /// Shutdown, step 1: no new line starts and reading stops; running requests go on.
    package mutating func shutdownBegan() -> [Action] {
        switch state {
        case .admitting, .serving:
            state = .draining
            return startQueuedLines()
        case .refused, .draining, .closed:
            return []
        }
    }

    /// Shutdown, step 2 (the grace period is over): every running request is cancelled and
    /// answers -32800 as it stops.
    package mutating func graceExpired() -> [Action] {
        if case .closed = state { return [] }
        return ledger.isEmpty ? [] : [.cancelAll]
    }

    /// Shutdown, last step: answers everything still owed (-32800 for requests still running
    /// and for lines read but never started; a batch keeps the answers it already has), and
    /// closes after flushing. A request answering later is not written twice.
    package mutating func closeForShutdown() -> [Action] {
        switch state {
        case .refused, .closed:
            return []
        case .admitting, .serving, .draining:
            break
        }
        state = .closed
        var actions: [Action] = ledger.isEmpty ? [] : [.cancelAll]
        actions += ledger.abandonAll().map(Action.write)
        for message in pending[pendingStart...] {
            if let answer = RequestLedger.answerWithoutRunning(message) { actions.append(.write(answer)) }
        }
        clearPending()
        actions.append(.closeAfterFlush)
        return actions
    }

    // MARK: - Transitions

    private mutating func messageReceived(_ message: IncomingMessage) -> [Action] {
        switch state {
        case .admitting, .serving, .draining:
            pending.append(message)
            return startQueuedLines()
        case .refused, .closed:
            return []
        }
    }

    /// Starts queued lines while there is room, then tells whether to read, and closes once
    /// the input ended and nothing is owed.
    private mutating func startQueuedLines() -> [Action] {
        var actions: [Action] = []
        switch state {
        case .admitting, .refused, .closed:
            return actions
        case .serving:
            while ledger.openLines < configuration.maxInflight, isWritable, let message = popPending() {
                start(message, into: &actions)
            }
        case .draining:
            break
        }
        let wantsRead: Bool
        if case .serving = state {
            wantsRead = queuedLines == 0 && ledger.openLines < configuration.maxInflight
        } else {
            wantsRead = false
        }
        if wantsRead != reading {
            reading = wantsRead
            if !wantsRead {
                actions.append(.pauseReading)
            } else if !inputEnded {
                actions.append(.resumeReading)
            }
        }
        if inputEnded, ledger.isEmpty, queuedLines == 0 {
            state = .closed
            actions.append(.close)
        }
        return actions
    }

    private mutating func start(_ message: IncomingMessage, into actions: inout [Action]) {
        switch message {
        case .rejected(let error):
            actions.append(.write(Outgoing.error(id: .null, error)))
        case .single(let item):
            if handledAsControl(item, into: &actions) { return }
            let line = ledger.open([item], isBatch: false)
            actions.append(.dispatch(item, RequestLedger.ItemRef(line: line, index: 0)))
        case .batch(let items):
            let line = ledger.open(items, isBatch: true)
            for (index, item) in items.enumerated() {
                let ref = RequestLedger.ItemRef(line: line, index: index)
                guard handledAsControl(item, into: &actions) else {
                    actions.append(.dispatch(item, ref))
                    continue
                }
                if case .finished(let answer?) = ledger.complete(ref, answer: nil) {
                    actions.append(.write(answer))
                }
            }
        }
    }

    /// Handles a control notification (`$/...`), which is never dispatched: `$/cancelRequest`
    /// cancels the running request with that id (`id`, or `requestId`); an unknown id and other
    /// `$/` methods do nothing. Returns false when `item` is not a control notification.
    private func handledAsControl(_ item: IncomingItem, into actions: inout [Action]) -> Bool {
        guard case .notification(let method, let params) = item, method.hasPrefix("$/") else { return false }
        if method == "$/cancelRequest", let idValue = params?["id"] ?? params?["requestId"], let id = RequestID(idValue),
            let ref = ledger.item(for: id)
        {
            actions.append(.cancel(ref))
        }
        return true
    }

    private mutating func popPending() -> IncomingMessage? {
        guard pendingStart < pending.count else { return nil }
        let message = pending[pendingStart]
        pendingStart += 1
        if pendingStart == pending.count { clearPending() }
        return message
    }

    private mutating func clearPending() {
        pending.removeAll(keepingCapacity: true)
        pendingStart = 0
    }
}
