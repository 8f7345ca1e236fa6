import AWSConfig
import CurlHTTP
import RolloutAWS
import RolloutCore
import Testing

@Suite("SQSQueue: keyed sends (SPEC §3.2)")
struct SQSQueueIdempotencyTests {
    private func queue(_ http: AWSTestScriptedHTTP, url: String) throws -> SQSQueue {
        let client = try AWSClient(
            service: .sqs, endpointURL: "https://sqs.us-east-1.amazonaws.com", region: "us-east-1",
            credentials: awsTestCredentials, http: http, retryPolicy: .standard(maxAttempts: 1),
            environment: AWSTestSleepRecorder().environment()
        )
        return SQSQueue(client: client, queueURL: url, defaultVisibilitySeconds: 30)
    }

    private static func call(_ method: String, key: String = "k", createdAt: Double = 5) -> IdempotentCall {
        IdempotentCall(method: method, key: key, fingerprint: [], createdAt: createdAt, expiresAt: 1e12, resuming: false)
    }

    private static let sent = SQSQueueScriptedTests.ok(["MessageId": "m"])

    @Test("FIFO: a deduplication id derived from the call, the same on every attempt; the caller's own wins")
    func fifo() async throws {
        let http = AWSTestScriptedHTTP([], fallback: Self.sent)
        let queue = try queue(http, url: "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo")
        #expect(queue.isFIFO)
        for call in [Self.call("queue.send"), Self.call("queue.send"), Self.call("queue.send", createdAt: 6)] {
            _ = try await IdempotentCall.$current.withValue(call) { try await queue.send(OutgoingMessage(body: "b", groupId: "g")) }
        }
        _ = try await IdempotentCall.$current.withValue(Self.call("queue.send")) {
            try await queue.send(OutgoingMessage(body: "b", groupId: "g", deduplicationId: "mine"))
        }
        _ = try await queue.send(OutgoingMessage(body: "b", groupId: "g"))
        let ids = try http.requests.map { try SQSQueueScriptedTests.sentBody($0)["MessageDeduplicationId"]?.stringValue }
        #expect(ids.count == 5)
        #expect(ids[0] == ids[1] && ids[0] != ids[2])
        #expect(ids[0]?.count == 64 && ids[0]?.allSatisfy(\.isHexDigit) == true)
        #expect(ids[3] == "mine" && ids[4] == nil)
    }

    @Test("FIFO batch: one derived id per position")
    func fifoBatch() async throws {
        let http = AWSTestScriptedHTTP([SQSQueueScriptedTests.ok(["Successful": [["Id": "0", "MessageId": "a"], ["Id": "1", "MessageId": "b"]]])])
        let queue = try queue(http, url: "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo")
        _ = try await IdempotentCall.$current.withValue(Self.call("queue.sendBatch")) {
            try await queue.sendBatch([OutgoingMessage(body: "x", groupId: "g"), OutgoingMessage(body: "x", groupId: "g")])
        }
        let entries = try SQSQueueScriptedTests.sentBody(try #require(http.requests.first))["Entries"]?.arrayValue ?? []
        let ids = entries.compactMap { $0["MessageDeduplicationId"]?.stringValue }
        #expect(ids.count == 2 && ids[0] != ids[1])
    }

    @Test("standard queue: the key travels in the rolloutd-idempotency-key attribute; no deduplication id")
    func standard() async throws {
        let http = AWSTestScriptedHTTP([], fallback: Self.sent)
        let queue = try queue(http, url: "https://sqs.us-east-1.amazonaws.com/123456789012/q")
        #expect(!queue.isFIFO)
        _ = try await IdempotentCall.$current.withValue(Self.call("queue.send", key: "job-7")) {
            try await queue.send(OutgoingMessage(body: "b", attributes: ["a": "1"]))
        }
        // Another method's call does not touch a send.
        _ = try await IdempotentCall.$current.withValue(Self.call("object.put")) { try await queue.send(OutgoingMessage(body: "b")) }
        let bodies = try http.requests.map(SQSQueueScriptedTests.sentBody)
        #expect(bodies[0]["MessageAttributes"] == [
            "a": ["DataType": "String", "StringValue": "1"],
            "rolloutd-idempotency-key": ["DataType": "String", "StringValue": "job-7"],
        ])
        #expect(bodies[0]["MessageDeduplicationId"] == nil)
        #expect(bodies[1]["MessageAttributes"] == nil)
    }
}
