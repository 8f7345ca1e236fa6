import RolloutCore
import RolloutRPC
@testable import RolloutServer
import RolloutTestSupport
import Testing

/// The connection's transitions, without a socket or a clock: lines in, actions out.
@Suite("Connection state machine")
struct ConnectionStateMachineTests {
    typealias Machine = ConnectionStateMachine
    typealias Ref = RequestLedger.ItemRef

    static let maxRequestBytes = 64

    /// An admitted connection that runs at most `maxInflight` lines at once.
    static func serving(maxInflight: Int = 8) -> Machine {
        var machine = Machine(configuration: .init(maxInflight: maxInflight, maxRequestBytes: maxRequestBytes, maxBatchItems: 3))
        #expect(machine.peerAdmitted() == [])
        return machine
    }

    static func requestLine(_ id: String) -> String {
        #"{"jsonrpc":"2.0","id":"\#(id)","method":"m"}"#
    }

    static func request(_ id: String) -> IncomingItem {
        .request(id: RequestID(id), method: "m", params: nil)
    }

    static func cancelLine(_ id: String) -> String {
        #"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":"\#(id)"}}"#
    }

    static let notificationLine = #"{"jsonrpc":"2.0","method":"n"}"#
    static let notification = IncomingItem.notification(method: "n", params: nil)

    static func result(_ id: String) -> JSONValue {
        Outgoing.result(id: RequestID(id), .object([:]))
    }

    static func cancelled(_ id: String) -> JSONValue {
        Outgoing.error(id: RequestID(id), .cancelled)
    }

    static func shutdownAnswer(_ id: String) -> JSONValue {
        Outgoing.error(id: RequestID(id), RequestLedger.shutdownError)
    }

    static func single(_ line: UInt64) -> Ref {
        Ref(line: line, index: 0)
    }

    // MARK: - Admission

    @Test func linesWaitForThePeerToBeAdmitted() {
        var machine = Machine(configuration: .init(maxInflight: 8, maxRequestBytes: 64, maxBatchItems: 3))
        #expect(machine.receive(Self.requestLine("a")) == [])
        #expect(machine.receive(Self.requestLine("b")) == [])
        #expect(machine.queuedLines == 2)
        #expect(machine.peerAdmitted() == [.dispatch(Self.request("a"), Self.single(0)), .dispatch(Self.request("b"), Self.single(1))])
        #expect(machine.peerAdmitted() == [])
    }

    @Test func aRefusedPeerGetsOneErrorAndItsInputIsDiscardedUntilEOF() {
        var machine = Machine(configuration: .init(maxInflight: 8, maxRequestBytes: 64, maxBatchItems: 3))
        #expect(machine.receive(Self.requestLine("a")) == [])
        let error = RolloutError(.accessDenied, "uid 1234 is not allowed")
        #expect(machine.peerRefused(error) == [.refuse(Outgoing.error(id: .null, error))])
        #expect(machine.receive(Self.requestLine("b")) == [])
        #expect(machine.lineTooLarge() == [])
        #expect(machine.queuedLines == 0)
        #expect(machine.closeForShutdown() == [])
        #expect(machine.inputClosed() == [.close])
    }

    // MARK: - Pipelining and backpressure

    @Test func thePipeliningLimitPausesReadingAndRoomResumesIt() {
        var machine = Self.serving(maxInflight: 2)
        #expect(machine.receive(Self.requestLine("a")) == [.dispatch(Self.request("a"), Self.single(0))])
        // The second line fills the pipeline: reading stops before a third arrives.
        #expect(machine.receive(Self.requestLine("b")) == [.dispatch(Self.request("b"), Self.single(1)), .pauseReading])
        // A line already read waits; nothing is dropped.
        #expect(machine.receive(Self.requestLine("c")) == [])
        #expect(machine.queuedLines == 1)
        // Room for one: the waiting line starts, and the pipeline is full again.
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [.write(Self.result("a")), .dispatch(Self.request("c"), Self.single(2))])
        #expect(machine.requestFinished(Self.single(1), answer: Self.result("b")) == [.write(Self.result("b")), .resumeReading])
        #expect(machine.openLines == 1)
    }

    @Test func anUnwritableChannelHoldsLinesBackUntilItDrains() {
        var machine = Self.serving()
        #expect(machine.writabilityChanged(isWritable: false) == [])
        #expect(machine.receive(Self.requestLine("a")) == [.pauseReading])
        #expect(machine.receive(Self.requestLine("b")) == [])
        #expect(machine.writabilityChanged(isWritable: true) == [
            .dispatch(Self.request("a"), Self.single(0)), .dispatch(Self.request("b"), Self.single(1)), .resumeReading,
        ])
    }

    @Test func aBatchCountsAsOneLineTowardsTheLimit() {
        var machine = Self.serving(maxInflight: 2)
        let batch = "[\(Self.requestLine("a")),\(Self.notificationLine),\(Self.requestLine("b"))]"
        #expect(machine.receive(batch) == [
            .dispatch(Self.request("a"), Ref(line: 0, index: 0)),
            .dispatch(Self.notification, Ref(line: 0, index: 1)),
            .dispatch(Self.request("b"), Ref(line: 0, index: 2)),
        ])
        #expect(machine.openLines == 1)
        #expect(machine.receive(Self.requestLine("c")) == [.dispatch(Self.request("c"), Self.single(1)), .pauseReading])
    }

    // MARK: - Batches

    @Test func aBatchIsAnsweredOnceAsOneArrayWithoutItsNotifications() {
        var machine = Self.serving()
        _ = machine.receive("[\(Self.requestLine("a")),\(Self.notificationLine),\(Self.requestLine("b"))]")
        #expect(machine.requestFinished(Ref(line: 0, index: 2), answer: Self.result("b")) == [])
        #expect(machine.requestFinished(Ref(line: 0, index: 1), answer: nil) == [])
        #expect(machine.requestFinished(Ref(line: 0, index: 0), answer: Self.result("a")) == [.write(.array([Self.result("b"), Self.result("a")]))])
        #expect(machine.openLines == 0)
    }

    @Test func aBatchOfNotificationsOrControlsWritesNothing() {
        var machine = Self.serving()
        _ = machine.receive("[\(Self.notificationLine),\(Self.notificationLine)]")
        #expect(machine.requestFinished(Ref(line: 0, index: 0), answer: nil) == [])
        #expect(machine.requestFinished(Ref(line: 0, index: 1), answer: nil) == [])
        // Control notifications are handled at once and never dispatched.
        #expect(machine.receive("[\(Self.cancelLine("x")),\(Self.cancelLine("y"))]") == [])
        #expect(machine.openLines == 0)
    }

    @Test func rejectedLinesAreAnsweredWithIdNullAndDispatchNothing() {
        var machine = Self.serving()
        let tooMany = "[\(Self.notificationLine),\(Self.notificationLine),\(Self.notificationLine),\(Self.notificationLine)]"
        for (line, code) in [("{not json", -32700), ("[]", -32600), (tooMany, -32600)] {
            let actions = machine.receive(line)
            guard actions.count == 1, case .write(let answer) = actions[0] else {
                Issue.record("\(line): one answer, not \(actions)")
                continue
            }
            #expect(answer["id"] == .null)
            #expect(answer["error"]?["code"] == .number(JSONNumber(code)))
        }
        #expect(machine.openLines == 0)
    }

    // MARK: - Oversize lines

    @Test func anOversizeLineIsAnsweredTooLargeInItsTurnAndTheConnectionStaysOpen() {
        var machine = Self.serving(maxInflight: 1)
        let tooLarge = Outgoing.error(id: .null, Envelope.tooLarge("request line exceeds max_request_bytes (64 bytes)"))
        #expect(machine.lineTooLarge() == [.write(tooLarge)])
        #expect(tooLarge["error"]?["code"] == .number(JSONNumber(-32600)))
        // Behind a running request it waits for its turn, like any line.
        #expect(machine.receive(Self.requestLine("a")) == [.dispatch(Self.request("a"), Self.single(0)), .pauseReading])
        #expect(machine.lineTooLarge() == [])
        #expect(machine.receive(Self.requestLine("b")) == [])
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [
            .write(Self.result("a")), .write(tooLarge), .dispatch(Self.request("b"), Self.single(1)),
        ])
    }

    // MARK: - Cancellation

    @Test func cancelRequestCancelsTheRunningRequestWithThatId() {
        var machine = Self.serving()
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.receive(Self.requestLine("b"))
        #expect(machine.receive(Self.cancelLine("b")) == [.cancel(Self.single(1))])
        // The request answers -32800 itself, once.
        #expect(machine.requestFinished(Self.single(1), answer: Self.cancelled("b")) == [.write(Self.cancelled("b"))])
        #expect(machine.openLines == 1)
    }

    @Test func cancelRequestForAnUnknownOrFinishedIdDoesNothing() {
        var machine = Self.serving()
        #expect(machine.receive(Self.cancelLine("nobody")) == [])
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.requestFinished(Self.single(0), answer: Self.result("a"))
        #expect(machine.receive(Self.cancelLine("a")) == [])
        // A cancel with a malformed id, and other `$/` notifications, are ignored too.
        #expect(machine.receive(#"{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":[1]}}"#) == [])
        #expect(machine.receive(#"{"jsonrpc":"2.0","method":"$/setTrace","params":{}}"#) == [])
        #expect(machine.openLines == 0)
    }

    @Test func cancelRequestReachesABatchItemAndCanSitInABatch() {
        var machine = Self.serving()
        _ = machine.receive("[\(Self.requestLine("a")),\(Self.requestLine("b"))]")
        #expect(machine.receive("[\(Self.requestLine("c")),\(Self.cancelLine("b"))]") == [
            .dispatch(Self.request("c"), Ref(line: 1, index: 0)), .cancel(Ref(line: 0, index: 1)),
        ])
        #expect(machine.requestFinished(Ref(line: 1, index: 0), answer: Self.result("c")) == [.write(.array([Self.result("c")]))])
    }

    // MARK: - Ends

    @Test func eofWithRequestsInFlightFinishesAndAnswersThemThenCloses() {
        var machine = Self.serving(maxInflight: 1)
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.receive(Self.requestLine("b"))
        // A half-close is not a cancellation: what was read still runs and is answered.
        #expect(machine.inputClosed() == [])
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [.write(Self.result("a")), .dispatch(Self.request("b"), Self.single(1))])
        #expect(machine.requestFinished(Self.single(1), answer: Self.result("b")) == [.write(Self.result("b")), .close])
    }

    @Test func eofWithNothingOwedClosesAtOnce() {
        var machine = Self.serving()
        #expect(machine.inputClosed() == [.close])
        #expect(machine.receive(Self.requestLine("a")) == [])
    }

    @Test func eofBeforeAdmissionServesWhatWasReadThenCloses() {
        var machine = Machine(configuration: .init(maxInflight: 8, maxRequestBytes: 64, maxBatchItems: 3))
        _ = machine.receive(Self.requestLine("a"))
        #expect(machine.inputClosed() == [])
        #expect(machine.peerAdmitted() == [.dispatch(Self.request("a"), Self.single(0))])
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [.write(Self.result("a")), .close])
    }

    @Test func thePeerGoingAwayCancelsEverythingAndNothingMoreIsWritten() {
        var machine = Self.serving(maxInflight: 1)
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.receive(Self.requestLine("b"))
        #expect(machine.channelInactive() == [.cancelAll])
        #expect(machine.requestFinished(Self.single(0), answer: Self.cancelled("a")) == [])
        #expect(machine.queuedLines == 0)
        #expect(machine.closeForShutdown() == [])
    }

    // MARK: - Shutdown

    @Test func drainingStopsStartingLinesButLetsRunningOnesAnswer() {
        var machine = Self.serving()
        _ = machine.receive(Self.requestLine("a"))
        #expect(machine.shutdownBegan() == [.pauseReading])
        #expect(machine.shutdownBegan() == [])
        #expect(machine.receive(Self.requestLine("b")) == [])
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [.write(Self.result("a"))])
        #expect(machine.graceExpired() == [])
        #expect(machine.closeForShutdown() == [.write(Self.shutdownAnswer("b")), .closeAfterFlush])
    }

    /// Every request with an id gets exactly one answer: what finished before the end is
    /// written once; what is still running or never started gets -32800 at the end; a batch
    /// keeps the answers it has; a late answer is dropped.
    @Test func theShutdownDrainAnswersWhatIsOwedExactlyOnce() {
        var machine = Self.serving(maxInflight: 2)
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.receive("[\(Self.requestLine("b")),\(Self.notificationLine),\(Self.requestLine("c"))]")
        _ = machine.receive(Self.requestLine("d"))
        _ = machine.receive("[\(Self.notificationLine)]")
        #expect(machine.requestFinished(Ref(line: 1, index: 2), answer: Self.result("c")) == [])
        #expect(machine.shutdownBegan() == [])
        #expect(machine.graceExpired() == [.cancelAll])
        #expect(machine.closeForShutdown() == [
            .cancelAll,
            .write(Self.shutdownAnswer("a")),
            .write(.array([Self.result("c"), Self.shutdownAnswer("b")])),
            .write(Self.shutdownAnswer("d")),
            .closeAfterFlush,
        ])
        // Requests that ignored their cancellation answer late: not written twice.
        #expect(machine.requestFinished(Self.single(0), answer: Self.result("a")) == [])
        #expect(machine.requestFinished(Ref(line: 1, index: 0), answer: Self.cancelled("b")) == [])
        #expect(machine.closeForShutdown() == [])
        #expect(machine.graceExpired() == [])
        #expect(machine.channelInactive() == [.cancelAll])
    }

    @Test func aConnectionAdmittedAfterShutdownBeganAnswersWithoutRunning() {
        var machine = Machine(configuration: .init(maxInflight: 8, maxRequestBytes: 64, maxBatchItems: 3))
        _ = machine.receive(Self.requestLine("a"))
        _ = machine.receive(Self.notificationLine)
        _ = machine.receive("{oops")
        var reference = Self.serving()
        guard case .write(let parseError) = reference.receive("{oops").first else {
            Issue.record("a parse error is answered")
            return
        }
        #expect(machine.closeForShutdown() == [.write(Self.shutdownAnswer("a")), .write(parseError), .closeAfterFlush])
        #expect(machine.peerAdmitted() == [])
    }

    @Test func aShutdownWithNothingOwedJustCloses() {
        var machine = Self.serving()
        #expect(machine.graceExpired() == [])
        #expect(machine.closeForShutdown() == [.closeAfterFlush])
    }

    // MARK: - Invariant

    /// Random interleavings of every event: each request id is written at most once while the
    /// connection runs, and exactly once once shutdown closed it.
    @Test(arguments: 0..<200)
    func everyRequestIsAnsweredExactlyOnce(seed: UInt64) {
        var random = SplitMix64(seed: seed)
        var machine = Self.serving(maxInflight: Int(random.next() % 3) + 1)
        var sent: Set<String> = []
        var answered: [String: Int] = [:]
        var running: [Ref: IncomingItem] = [:]
        var nextID = 0
        func apply(_ actions: [Machine.Action]) {
            for action in actions {
                switch action {
                case .dispatch(let item, let ref): running[ref] = item
                case .write(let message): count(message)
                default: break
                }
            }
        }
        func count(_ message: JSONValue) {
            if case .array(let items) = message {
                items.forEach(count)
            } else if case .string(let id)? = message["id"] {
                answered[id, default: 0] += 1
            }
        }
        func finishOne() {
            guard let (ref, item) = running.randomElement(using: &random) else { return }
            running[ref] = nil
            var answer: JSONValue?
            if case .request(let id, _, _) = item { answer = Outgoing.result(id: id, .object([:])) }
            apply(machine.requestFinished(ref, answer: answer))
        }
        for step in 0..<Int(random.next() % 40) {
            switch random.next() % 8 {
            case 0, 1:
                let id = "r\(nextID)"
                nextID += 1
                sent.insert(id)
                apply(machine.receive(Self.requestLine(id)))
            case 2:
                let id = "r\(nextID)"
                nextID += 1
                sent.insert(id)
                apply(machine.receive("[\(Self.requestLine(id)),\(Self.notificationLine)]"))
            case 3:
                apply(machine.receive(Self.cancelLine("r\(random.next() % UInt64(max(nextID, 1)))")))
            case 4, 5:
                finishOne()
            case 6:
                apply(machine.writabilityChanged(isWritable: step % 3 != 0))
            default:
                apply(machine.lineTooLarge())
            }
            #expect(answered.values.allSatisfy { $0 == 1 })
        }
        if random.next() % 2 == 0 { apply(machine.shutdownBegan()) }
        for _ in 0..<Int(random.next() % 3) { finishOne() }
        apply(machine.closeForShutdown())
        while !running.isEmpty { finishOne() }
        #expect(Set(answered.keys) == sent)
        #expect(answered.values.allSatisfy { $0 == 1 })
    }
}

extension ConnectionStateMachine {
    /// Feeds one line given as text.
    mutating func receive(_ line: String) -> [Action] {
        Array(line.utf8).withUnsafeBytes { lineReceived($0) }
    }
}
