import RolloutCore
import RolloutRPC
@testable import RolloutServer
import Testing

/// The bookkeeping that lets shutdown answer every request with an id exactly once.
@Suite("Request ledger")
struct RequestLedgerTests {
    typealias Ref = RequestLedger.ItemRef

    static func request(_ id: Int) -> IncomingItem {
        .request(id: RequestID(id), method: "m", params: nil)
    }

    static let notification = IncomingItem.notification(method: "n", params: nil)

    static func result(_ id: Int) -> JSONValue {
        Outgoing.result(id: RequestID(id), .object([:]))
    }

    static func cancelled(_ id: Int) -> JSONValue {
        Outgoing.error(id: RequestID(id), RequestLedger.shutdownError)
    }

    @Test func aSingleRequestIsAnsweredWhenItFinishes() {
        var ledger = RequestLedger()
        let line = ledger.open([Self.request(1)], isBatch: false)
        #expect(ledger.openLines == 1)
        #expect(ledger.item(for: RequestID(1)) == Ref(line: line, index: 0))
        #expect(ledger.complete(Ref(line: line, index: 0), answer: Self.result(1)) == .finished(Self.result(1)))
        #expect(ledger.isEmpty)
        #expect(ledger.item(for: RequestID(1)) == nil)
    }

    @Test func aBatchAnswersOnceAsOneArrayWithoutNotifications() {
        var ledger = RequestLedger()
        let line = ledger.open([Self.request(1), Self.notification, Self.request(2)], isBatch: true)
        #expect(ledger.complete(Ref(line: line, index: 2), answer: Self.result(2)) == .pending)
        #expect(ledger.complete(Ref(line: line, index: 1), answer: nil) == .pending)
        #expect(ledger.complete(Ref(line: line, index: 0), answer: Self.result(1)) == .finished(.array([Self.result(2), Self.result(1)])))
        let silent = ledger.open([Self.notification, Self.notification], isBatch: true)
        #expect(ledger.complete(Ref(line: silent, index: 0), answer: nil) == .pending)
        #expect(ledger.complete(Ref(line: silent, index: 1), answer: nil) == .finished(nil))
    }

    /// The shutdown path: requests that are still running get -32800, batches keep the answers
    /// they already have, notifications get nothing, and late answers are dropped.
    @Test func abandoningAnswersEveryRequestExactlyOnce() {
        var ledger = RequestLedger()
        let single = ledger.open([Self.request(1)], isBatch: false)
        let batch = ledger.open([Self.request(2), Self.notification, Self.request(3)], isBatch: true)
        let quiet = ledger.open([Self.notification], isBatch: false)
        #expect(ledger.complete(Ref(line: batch, index: 2), answer: Self.result(3)) == .pending)

        let owed = ledger.abandonAll()
        #expect(owed == [Self.cancelled(1), .array([Self.result(3), Self.cancelled(2)])])
        #expect(ledger.isEmpty)
        #expect(ledger.item(for: RequestID(1)) == nil)
        // A request that ignored its cancellation answers after all: not written twice.
        #expect(ledger.complete(Ref(line: single, index: 0), answer: Self.result(1)) == .stale)
        #expect(ledger.complete(Ref(line: batch, index: 0), answer: Self.result(2)) == .stale)
        #expect(ledger.complete(Ref(line: quiet, index: 0), answer: nil) == .stale)
        #expect(ledger.abandonAll().isEmpty)
    }

    @Test func aReusedIDCancelsTheLatestRequest() {
        var ledger = RequestLedger()
        let first = ledger.open([Self.request(7)], isBatch: false)
        let second = ledger.open([Self.request(7)], isBatch: false)
        #expect(ledger.item(for: RequestID(7)) == Ref(line: second, index: 0))
        _ = ledger.complete(Ref(line: first, index: 0), answer: Self.result(7))
        #expect(ledger.item(for: RequestID(7)) == Ref(line: second, index: 0))
    }

    @Test func linesNeverStartedAreAnsweredWithoutRunning() {
        let invalid = RolloutError(.invalidRequest, "bad")
        #expect(RequestLedger.answerWithoutRunning(.single(Self.request(1))) == Self.cancelled(1))
        #expect(RequestLedger.answerWithoutRunning(.single(Self.notification)) == nil)
        #expect(RequestLedger.answerWithoutRunning(.rejected(invalid)) == Outgoing.error(id: .null, invalid))
        #expect(
            RequestLedger.answerWithoutRunning(.batch([Self.notification, Self.request(2), .invalid(id: RequestID(3), error: invalid)]))
                == .array([Self.cancelled(2), Outgoing.error(id: RequestID(3), invalid)])
        )
        #expect(RequestLedger.answerWithoutRunning(.batch([Self.notification])) == nil)
    }
}

/// The shutdown wait: it must end at its limit even while a request never finishes (the bug was
/// a wait that could not be cancelled, so shutdown lasted as long as the longest request).
@Suite("In-flight counter", .timeLimit(.minutes(1)))
struct InflightCounterTests {
    @Test func zeroIsReachedAtOnceOrWhenTheLastRequestEnds() async {
        let counter = InflightCounter()
        #expect(await counter.waitForZero(upTo: .seconds(30)))
        counter.increment()
        counter.increment()
        let waiter = Task { await counter.waitForZero(upTo: .seconds(30)) }
        counter.decrement()
        counter.decrement()
        #expect(await waiter.value)
    }

    @Test func theWaitEndsAtItsLimitWhileARequestNeverFinishes() async {
        let counter = InflightCounter()
        counter.increment()
        #expect(await counter.waitForZero(upTo: .milliseconds(50)) == false)
        #expect(counter.count == 1)
    }

    @Test func cancellingTheWaitEndsIt() async {
        let counter = InflightCounter()
        counter.increment()
        let waiter = Task { await counter.waitForZero(upTo: .seconds(3600)) }
        waiter.cancel()
        #expect(await waiter.value == false)
        // Later waits still work once the count reaches zero.
        counter.decrement()
        #expect(await counter.waitForZero(upTo: .seconds(30)))
    }
}
