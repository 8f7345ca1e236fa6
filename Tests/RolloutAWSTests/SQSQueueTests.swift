import Glibc
import RolloutAWS
import RolloutCore
import Synchronization
import Testing

/// Wall-clock now in milliseconds since the epoch.
private func sqsTestNowMillis() -> Int64 {
    var time = timespec()
    clock_gettime(CLOCK_REALTIME, &time)
    return Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
}

/// Serialized: the long-poll tests measure time, and one shared moto serves every test.
@Suite("SQSQueue against moto (through the fault proxy, boto3 on the other side)", .serialized)
struct SQSQueueTests {
    @Test("send through SQSQueue, receive with boto3: body and attributes identical")
    func sendThenBotoReceives() async throws {
        let fixture = try await SQSFixture("sqs-send")
        defer { fixture.proxy.stop() }
        let body = "héllo, wörld — ✓ {\"json\": [1, 2]}\n\ttabs"
        let attributes = ["trace": "abc-123", "kind": "ünïcode ✓", "empty-ish": " "]
        let messageId = try await fixture.queue.send(OutgoingMessage(body: body, attributes: attributes))
        #expect(!messageId.isEmpty)
        let received = try await fixture.drain(fixture.standardURL)
        #expect(received.count == 1)
        #expect(received.first?["messageId"]?.stringValue == messageId)
        #expect(received.first?["body"]?.stringValue == body)
        let got = received.first?["attributes"]?.objectValue
        #expect(got?.count == attributes.count)
        for (name, value) in attributes {
            #expect(got?[name]?.stringValue == value, "\(name)")
        }
        #expect(try await fixture.count("SendMessage") == 1)
    }

    @Test("boto3 sends, SQSQueue receives: receiveCount 1, sentAt plausible, attributes")
    func botoSendsWeReceive() async throws {
        let fixture = try await SQSFixture("sqs-recv")
        defer { fixture.proxy.stop() }
        let before = sqsTestNowMillis()
        let ids = try await fixture.boto([
            ["op": "send", "url": .string(fixture.standardURL), "body": "from boto3 ✓", "attributes": ["a": "1", "b": "two"]]
        ])
        let after = sqsTestNowMillis()
        let messages = try await fixture.queue.receive(max: 10, waitSeconds: 1, visibilitySeconds: 30)
        #expect(messages.count == 1)
        let message = try #require(messages.first)
        #expect(message.messageId == ids.first?.stringValue)
        #expect(message.body == "from boto3 ✓")
        #expect(message.attributes == ["a": "1", "b": "two"])
        #expect(message.receiveCount == 1)
        #expect(!message.receipt.isEmpty)
        // RFC 3339 UTC with milliseconds, within the send window (1 s slack).
        #expect(message.sentAt.count == 24 && message.sentAt.hasSuffix("Z") && message.sentAt.dropFirst(10).first == "T")
        let low = SQSTestTime.rfc3339(milliseconds: before - 1000)
        let high = SQSTestTime.rfc3339(milliseconds: after + 1000)
        #expect(low <= message.sentAt && message.sentAt <= high, "\(message.sentAt) not in [\(low), \(high)]")
        try await fixture.queue.ack(receipt: message.receipt)
        await #expect(try fixture.drain(fixture.standardURL).isEmpty, "acked")
    }

    @Test("changeVisibility(0) makes a received message visible again (nack)")
    func nack() async throws {
        let fixture = try await SQSFixture("sqs-nack")
        defer { fixture.proxy.stop() }
        _ = try await fixture.queue.send(OutgoingMessage(body: "nack me"))
        let first = try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 60)
        #expect(first.count == 1)
        #expect(try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 60).isEmpty, "invisible")
        try await fixture.queue.changeVisibility(receipt: try #require(first.first).receipt, seconds: 0)
        let again = try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 60)
        #expect(again.first?.messageId == first.first?.messageId)
        #expect(again.first?.receiveCount == 2)
        #expect(again.first?.receipt != first.first?.receipt, "a new receipt on every receive")
    }

    @Test("visibility expiry brings the message back with receiveCount 2")
    func visibilityExpiry() async throws {
        let fixture = try await SQSFixture("sqs-expiry")
        defer { fixture.proxy.stop() }
        _ = try await fixture.queue.send(OutgoingMessage(body: "expire me"))
        let first = try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 1)
        #expect(first.first?.receiveCount == 1)
        try await Task.sleep(for: .milliseconds(1600))
        let again = try await fixture.queue.receive(max: 1, waitSeconds: 2, visibilitySeconds: 30)
        #expect(again.first?.messageId == first.first?.messageId)
        #expect(again.first?.receiveCount == 2)
    }

    @Test("extend keeps the message invisible past the original timeout")
    func extend() async throws {
        let fixture = try await SQSFixture("sqs-extend")
        defer { fixture.proxy.stop() }
        _ = try await fixture.queue.send(OutgoingMessage(body: "keep me"))
        // 3 s, so that the extension comes before the message reappears even on a loaded machine.
        let first = try #require(try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 3).first)
        try await fixture.queue.changeVisibility(receipt: first.receipt, seconds: 12)
        try await Task.sleep(for: .milliseconds(4000))
        #expect(try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: 30).isEmpty, "still invisible")
        await #expect(try fixture.drain(fixture.standardURL).isEmpty, "boto3 does not see it either")
        try await fixture.queue.ack(receipt: first.receipt)
    }

    @Test("sendBatch of 23: results in input order, a too-large one fails only its entry")
    func sendBatch() async throws {
        let fixture = try await SQSFixture("sqs-batch")
        defer { fixture.proxy.stop() }
        var messages = (0..<23).map { OutgoingMessage(body: "message #\($0)", attributes: ["index": String($0)]) }
        messages[7] = OutgoingMessage(body: String(repeating: "x", count: SQSQueue.sqsMaxMessageBytes + 1))
        let results = try await fixture.queue.sendBatch(messages)
        #expect(results.count == 23)
        var idToIndex: [String: Int] = [:]
        for (index, result) in results.enumerated() {
            switch result {
            case .success(let id):
                #expect(index != 7)
                idToIndex[id] = index
            case .failure(let error):
                #expect(index == 7, "\(index): \(error)")
                #expect(error.code == .tooLarge)
            }
        }
        #expect(idToIndex.count == 22)
        #expect(try await fixture.count("SendMessageBatch") == 3, "22 entries: 10 + 10 + 2")
        let received = try await fixture.drain(fixture.standardURL)
        #expect(received.count == 22)
        for message in received {
            let index = try #require(message["messageId"]?.stringValue.flatMap { idToIndex[$0] })
            #expect(message["body"]?.stringValue == "message #\(index)")
            #expect(message["attributes"]?["index"]?.stringValue == String(index))
        }
    }

    @Test("sendBatch splits to stay under 1 MiB per request")
    func sendBatchByteLimit() async throws {
        let fixture = try await SQSFixture("sqs-batch-bytes")
        defer { fixture.proxy.stop() }
        let messages = (0..<5).map { OutgoingMessage(body: "\($0)" + String(repeating: "y", count: 300_000)) }
        let results = try await fixture.queue.sendBatch(messages)
        #expect(results.allSatisfy { (try? $0.get()) != nil })
        #expect(try await fixture.count("SendMessageBatch") == 2, "3 × 300 kB, then 2")
        let bodies = try await fixture.drain(fixture.standardURL).compactMap { $0["body"]?.stringValue?.first }
        #expect(bodies.sorted() == ["0", "1", "2", "3", "4"])
    }

    @Test("a single send over the limit is TooLarge and never sent")
    func sendTooLarge() async throws {
        let fixture = try await SQSFixture("sqs-too-large")
        defer { fixture.proxy.stop() }
        await #expect(throws: RolloutError.self) {
            _ = try await fixture.queue.send(OutgoingMessage(body: String(repeating: "z", count: SQSQueue.sqsMaxMessageBytes + 1)))
        }
        do {
            _ = try await fixture.queue.send(
                OutgoingMessage(body: String(repeating: "z", count: SQSQueue.sqsMaxMessageBytes - 3), attributes: ["k": "v"])
            )
            Issue.record("sent")
        } catch let error as RolloutError {
            #expect(error.code == .tooLarge, "attributes count towards the limit")
        }
        #expect(try await fixture.proxy.total() == 0)
        #expect(fixture.queue.maxMessageBytes == 1_048_576)
        // Exactly at the limit goes through.
        _ = try await fixture.queue.send(OutgoingMessage(body: String(repeating: "z", count: SQSQueue.sqsMaxMessageBytes)))
    }

    @Test("ackBatch with one bogus receipt: per-receipt errors in input order")
    func ackBatch() async throws {
        let fixture = try await SQSFixture("sqs-ackbatch")
        defer { fixture.proxy.stop() }
        for index in 0..<12 { _ = try await fixture.queue.send(OutgoingMessage(body: "ack \(index)")) }
        var receipts: [String] = []
        while receipts.count < 12 {
            let batch = try await fixture.queue.receive(max: 10, waitSeconds: 1, visibilitySeconds: 60)
            if batch.isEmpty { break }
            receipts += batch.map(\.receipt)
        }
        #expect(receipts.count == 12)
        receipts.insert("bogus-receipt-handle", at: 11)
        let errors = try await fixture.queue.ackBatch(receipts: receipts)
        #expect(errors.count == 13)
        for (index, error) in errors.enumerated() {
            if index == 11 {
                #expect(error?.code == .notFound)
                #expect(error?.message.contains("receipt is unknown or expired") == true)
                #expect(error?.upstream("code")?.stringValue == "ReceiptHandleIsInvalid")
            } else {
                #expect(error == nil, "\(index): \(String(describing: error))")
            }
        }
        #expect(try await fixture.count("DeleteMessageBatch") == 2)
        await #expect(try fixture.drain(fixture.standardURL).isEmpty, "all deleted")
    }

    @Test("ack and changeVisibility with an unknown receipt are NotFound")
    func unknownReceipt() async throws {
        let fixture = try await SQSFixture("sqs-unknown")
        defer { fixture.proxy.stop() }
        for operation in ["ack", "changeVisibility"] {
            do {
                if operation == "ack" {
                    try await fixture.queue.ack(receipt: "bogus-receipt-handle")
                } else {
                    try await fixture.queue.changeVisibility(receipt: "bogus-receipt-handle", seconds: 10)
                }
                Issue.record("\(operation) succeeded")
            } catch let error as RolloutError {
                #expect(error.code == .notFound, "\(operation): \(error)")
                #expect(error.message.contains("receipt is unknown or expired"))
                #expect(error.upstream("code")?.stringValue == "ReceiptHandleIsInvalid")
            }
        }
    }

    @Test("FIFO: two sends with the same deduplicationId give one message")
    func fifoDedup() async throws {
        let fixture = try await SQSFixture("sqs-fifo")
        defer { fixture.proxy.stop() }
        let message = OutgoingMessage(body: "once", attributes: ["k": "v"], groupId: "g1", deduplicationId: "dedup-1")
        _ = try await fixture.fifo.send(message)
        _ = try await fixture.fifo.send(message)
        _ = try await fixture.fifo.send(OutgoingMessage(body: "other", groupId: "g1", deduplicationId: "dedup-2"))
        let received = try await fixture.drain(fixture.fifoURL)
        #expect(received.compactMap { $0["body"]?.stringValue } == ["once", "other"])
    }

    @Test("long poll returns promptly when boto3 sends 0.5 s later")
    func longPollWakes() async throws {
        let fixture = try await SQSFixture("sqs-longpoll")
        defer { fixture.proxy.stop() }
        let url = fixture.standardURL
        let sender = Task.detached {
            try await fixture.boto([
                ["op": "sleep", "seconds": 0.5], ["op": "send", "url": .string(url), "body": "late arrival"],
            ])
        }
        // A 10 s poll, so a slow-starting boto3 under load still lands inside it; one request
        // that returns the message proves the poll was woken rather than repeated or timed out.
        let messages = try await fixture.queue.receive(max: 1, waitSeconds: 10, visibilitySeconds: 30)
        _ = try await sender.value
        #expect(messages.map(\.body) == ["late arrival"])
        #expect(try await fixture.count("ReceiveMessage") == 1)
    }

    @Test("an empty long poll returns [] after ~3 s with one request")
    func longPollEmpty() async throws {
        let fixture = try await SQSFixture("sqs-longpoll-empty")
        defer { fixture.proxy.stop() }
        let clock = ContinuousClock()
        let start = clock.now
        let messages = try await fixture.queue.receive(max: 10, waitSeconds: 3, visibilitySeconds: 30)
        let elapsed = clock.now - start
        #expect(messages.isEmpty)
        #expect(elapsed >= .milliseconds(2900) && elapsed < .seconds(15), "returned after \(elapsed)")
        #expect(try await fixture.count("ReceiveMessage") == 1, "no spinning")
        #expect(try await fixture.proxy.total() == 1)
    }

    @Test("parameter ranges are checked before anything is sent")
    func validation() async throws {
        let fixture = try await SQSFixture("sqs-validation")
        defer { fixture.proxy.stop() }
        let calls: [(String, @Sendable () async throws -> Void)] = [
            ("max 0", { _ = try await fixture.queue.receive(max: 0, waitSeconds: 0, visibilitySeconds: 30) }),
            ("max 11", { _ = try await fixture.queue.receive(max: 11, waitSeconds: 0, visibilitySeconds: 30) }),
            ("wait 21", { _ = try await fixture.queue.receive(max: 1, waitSeconds: 21, visibilitySeconds: 30) }),
            ("visibility -1", { _ = try await fixture.queue.receive(max: 1, waitSeconds: 0, visibilitySeconds: -1) }),
            ("extend 43201", { try await fixture.queue.changeVisibility(receipt: "r", seconds: 43_201) }),
            ("delay 901", { _ = try await fixture.queue.send(OutgoingMessage(body: "b", delaySeconds: 901)) }),
            ("empty body", { _ = try await fixture.queue.send(OutgoingMessage(body: "")) }),
            ("empty receipt", { try await fixture.queue.ack(receipt: "") }),
        ]
        for (name, call) in calls {
            do {
                try await call()
                Issue.record("\(name) was accepted")
            } catch let error as RolloutError {
                #expect(error.code == .invalidParams, "\(name): \(error)")
            }
        }
        #expect(try await fixture.proxy.total() == 0)
        #expect(fixture.queue.defaultVisibilitySeconds == 30)
    }
}

/// RFC 3339 UTC with milliseconds, computed independently of the code under test.
enum SQSTestTime {
    static func rfc3339(milliseconds: Int64) -> String {
        let days = milliseconds / 86_400_000
        let rest = milliseconds % 86_400_000
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(rest / 3_600_000, 2)):\(pad(rest / 60_000 % 60, 2))"
            + ":\(pad(rest / 1000 % 60, 2)).\(pad(rest % 1000, 3))Z"
    }
}
