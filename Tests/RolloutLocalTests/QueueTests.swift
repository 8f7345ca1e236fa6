import RolloutCore
import RolloutLocal
import Synchronization
import Testing

@Suite("Local queue")
struct QueueTests {
    /// A long poll that nothing wakes ends after its whole wait (20 s in these tests), so one that
    /// ends sooner was woken. Measured around the poll alone: a loaded machine's delay before a
    /// test reaches its poll does not count.
    static let wokenBound = Duration.seconds(19)

    /// Receives with a long poll; returns the messages and the time the poll itself took.
    static func timedReceive(
        _ queue: some MessageQueue, max: Int = 1, waitSeconds: Int
    ) async throws -> (messages: [ReceivedMessage], took: Duration) {
        let began = ContinuousClock.now
        let received = try await queue.receive(max: max, waitSeconds: waitSeconds, visibilitySeconds: 30)
        return (received, ContinuousClock.now - began)
    }

    @Test("send, receive and ack")
    func sendReceiveAck() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            #expect(queue.defaultVisibilitySeconds == 30)
            #expect(queue.maxMessageBytes == 1_048_576)
            let id = try await queue.send(OutgoingMessage(body: "hello", attributes: ["kind": "greeting"]))
            let received = try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            let message = try #require(received.first)
            #expect(received.count == 1)
            #expect(message.messageId == id)
            #expect(message.body == "hello")
            #expect(message.attributes == ["kind": "greeting"])
            #expect(message.receiveCount == 1)
            #expect(isRFC3339Milliseconds(message.sentAt))
            // In flight: not received again.
            #expect(try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30).isEmpty)
            try await queue.ack(receipt: message.receipt)
            await expectError(.notFound, containing: [message.receipt, "unknown or expired"]) {
                try await queue.ack(receipt: message.receipt)
            }
        }
    }

    @Test("every receive issues a new receipt and the old one stops working")
    func receiptsChange() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            _ = try await queue.send(OutgoingMessage(body: "m"))
            let first = try #require(try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 30).first)
            try await queue.changeVisibility(receipt: first.receipt, seconds: 0)
            let second = try #require(try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 30).first)
            #expect(second.messageId == first.messageId)
            #expect(second.receipt != first.receipt)
            #expect(second.receiveCount == 2)
            await expectError(.notFound) { try await queue.ack(receipt: first.receipt) }
            await expectError(.notFound) { try await queue.changeVisibility(receipt: first.receipt, seconds: 5) }
            try await queue.ack(receipt: second.receipt)
        }
    }

    @Test("an expired visibility timeout brings the message back with receiveCount 2")
    func visibilityExpiry() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            _ = try await queue.send(OutgoingMessage(body: "again"))
            let clock = ContinuousClock()
            let start = clock.now
            let first = try #require(try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 1).first)
            // The long poll wakes when the visibility lapses, before its 20 s wait ends.
            let (received, polled) = try await Self.timedReceive(queue, waitSeconds: 20)
            let again = try #require(received.first)
            #expect(clock.now - start >= .milliseconds(900))
            #expect(polled < Self.wokenBound, "the poll took \(polled)")
            #expect(again.messageId == first.messageId)
            #expect(again.receiveCount == 2)
        }
    }

    @Test("changeVisibility(0) makes a message visible at once and wakes waiting receivers")
    func changeVisibilityZero() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            _ = try await queue.send(OutgoingMessage(body: "nack me"))
            let first = try #require(try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 600).first)
            let waiter = Task { try await Self.timedReceive(queue, waitSeconds: 20) }
            try await Task.sleep(for: .milliseconds(200))
            try await queue.changeVisibility(receipt: first.receipt, seconds: 0)
            let (woken, polled) = try await waiter.value
            #expect(polled < Self.wokenBound, "woken, not timed out after 20 s: the poll took \(polled)")
            #expect(woken.first?.messageId == first.messageId)
            await expectError(.invalidParams) { try await queue.changeVisibility(receipt: woken[0].receipt, seconds: 43_201) }
        }
    }

    @Test("a long poll returns as soon as another task sends")
    func longPollWakesOnSend() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            let waiter = Task { try await Self.timedReceive(queue, max: 10, waitSeconds: 20) }
            try await Task.sleep(for: .milliseconds(300))
            let id = try await queue.send(OutgoingMessage(body: "wake up"))
            let (received, polled) = try await waiter.value
            #expect(received.map(\.messageId) == [id])
            #expect(polled < Self.wokenBound, "woken, not timed out after 20 s: the poll took \(polled)")
        }
    }

    @Test("a long poll with nothing to receive ends after waitSeconds")
    func longPollTimesOut() async throws {
        try await withProvider { provider, _ in
            let clock = ContinuousClock()
            let start = clock.now
            let received = try await provider.queue.receive(max: 1, waitSeconds: 1, visibilitySeconds: 30)
            #expect(received.isEmpty)
            let elapsed = clock.now - start
            #expect(elapsed >= .milliseconds(900))
            #expect(elapsed < .seconds(20), "ended after its 1 s wait, not at the 20 s maximum")
        }
    }

    @Test("cancelling a long poll ends it promptly")
    func longPollCancellation() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            let began = Mutex<ContinuousClock.Instant?>(nil)
            let waiter = Task {
                began.withLock { $0 = .now }
                return try await queue.receive(max: 1, waitSeconds: 20, visibilitySeconds: 30)
            }
            try await Task.sleep(for: .milliseconds(200))
            waiter.cancel()
            await #expect(throws: CancellationError.self) { _ = try await waiter.value }
            // Measured from the poll's own start: a loaded machine can start it late.
            if let began = began.withLock({ $0 }) {
                #expect(ContinuousClock.now - began < Self.wokenBound, "ended by the cancel, not after 20 s")
            }
        }
    }

    @Test("a deduplication id seen in the last five minutes returns the original id")
    func deduplication() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            let first = try await queue.send(OutgoingMessage(body: "once", deduplicationId: "d-1"))
            let second = try await queue.send(OutgoingMessage(body: "once", deduplicationId: "d-1"))
            #expect(second == first)
            let other = try await queue.send(OutgoingMessage(body: "once", deduplicationId: "d-2"))
            #expect(other != first)
            let received = try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            #expect(received.map(\.messageId) == [first, other])
            // Still deduplicated after the original was acked.
            try await queue.ack(receipt: received[0].receipt)
            #expect(try await queue.send(OutgoingMessage(body: "once", deduplicationId: "d-1")) == first)
            #expect(try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30).isEmpty)
        }
    }

    @Test("delaySeconds hides a message until the delay passes")
    func delay() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            let clock = ContinuousClock()
            let start = clock.now
            let id = try await queue.send(OutgoingMessage(body: "later", delaySeconds: 1))
            let (received, polled) = try await Self.timedReceive(queue, waitSeconds: 20)
            #expect(received.map(\.messageId) == [id])
            // Hidden for the delay (however slow the machine), and the long poll woke when it
            // ended rather than at the end of its 20 s wait.
            #expect(clock.now - start >= .milliseconds(900))
            #expect(polled < Self.wokenBound, "the poll took \(polled)")
            await expectError(.invalidParams, containing: ["delaySeconds"]) {
                _ = try await queue.send(OutgoingMessage(body: "x", delaySeconds: 901))
            }
            await expectError(.invalidParams, containing: ["delaySeconds"]) {
                _ = try await queue.send(OutgoingMessage(body: "x", delaySeconds: -1))
            }
        }
    }

    @Test("bodies over 1 MiB of UTF-8 are TooLarge")
    func tooLarge() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            _ = try await queue.send(OutgoingMessage(body: String(repeating: "a", count: 1_048_576)))
            await expectError(.tooLarge) { _ = try await queue.send(OutgoingMessage(body: String(repeating: "a", count: 1_048_577))) }
            // Counted in bytes, not characters: 349 526 × 3 bytes = 1 048 578.
            await expectError(.tooLarge) { _ = try await queue.send(OutgoingMessage(body: String(repeating: "€", count: 349_526))) }
        }
    }

    @Test("batches answer in input order and fail only the bad entries")
    func batches() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            let results = try await queue.sendBatch([
                OutgoingMessage(body: "one"),
                OutgoingMessage(body: String(repeating: "x", count: 1_048_577)),
                OutgoingMessage(body: "two"),
                OutgoingMessage(body: "bad delay", delaySeconds: 1000),
                OutgoingMessage(body: "three"),
            ])
            #expect(results.count == 5)
            let codes = results.map { result -> ErrorCode? in
                if case .failure(let error) = result { return error.code }
                return nil
            }
            #expect(codes == [nil, .tooLarge, nil, .invalidParams, nil])
            let ids = results.compactMap { try? $0.get() }
            let received = try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            #expect(received.map(\.body) == ["one", "two", "three"])
            #expect(received.map(\.messageId) == ids)

            let acks = try await queue.ackBatch(receipts: [received[0].receipt, "bogus", received[2].receipt])
            #expect(acks.map { $0?.code } == [nil, .notFound, nil])
            try await queue.ack(receipt: received[1].receipt)
        }
    }

    @Test("messages of one group are delivered in order, one group member in flight at a time")
    func groups() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            _ = try await queue.sendBatch([
                OutgoingMessage(body: "g1", groupId: "g"),
                OutgoingMessage(body: "g2", groupId: "g"),
                OutgoingMessage(body: "free"),
            ])
            let first = try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 30)
            #expect(first.map(\.body) == ["g1"])
            // g2 waits for g1; the ungrouped message does not.
            let second = try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            #expect(second.map(\.body) == ["free"])
            try await queue.ack(receipt: first[0].receipt)
            let third = try await queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            #expect(third.map(\.body) == ["g2"])
        }
    }

    @Test("receive parameters are range-checked")
    func receiveParams() async throws {
        try await withProvider { provider, _ in
            let queue = provider.queue
            await expectError(.invalidParams, containing: ["max"]) { _ = try await queue.receive(max: 11, waitSeconds: 0, visibilitySeconds: 1) }
            await expectError(.invalidParams, containing: ["waitSeconds"]) { _ = try await queue.receive(max: 1, waitSeconds: 21, visibilitySeconds: 1) }
            await expectError(.invalidParams, containing: ["visibilitySeconds"]) {
                _ = try await queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 43_201)
            }
        }
    }
}
