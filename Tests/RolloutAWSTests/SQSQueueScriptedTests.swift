import AWSConfig
import CurlHTTP
import RolloutAWS
import RolloutCore
import Testing

@Suite("SQSQueue wire format and entry errors (scripted HTTP)")
struct SQSQueueScriptedTests {
    static let queueURL = "https://sqs.us-east-1.amazonaws.com/123456789012/q"

    func queue(_ http: AWSTestScriptedHTTP) throws -> SQSQueue {
        let client = try AWSClient(
            service: .sqs, endpointURL: "https://sqs.us-east-1.amazonaws.com", region: "us-east-1",
            credentials: awsTestCredentials, http: http, retryPolicy: .standard(maxAttempts: 1),
            environment: AWSTestSleepRecorder().environment()
        )
        return SQSQueue(client: client, queueURL: Self.queueURL, defaultVisibilitySeconds: 45)
    }

    static func ok(_ body: JSONValue) -> Result<HTTPResponse, HTTPError> {
        .success(HTTPResponse(status: 200, headers: [], body: body.serialized()))
    }

    static func sentBody(_ request: HTTPRequest) throws -> JSONValue {
        guard case .bytes(let bytes) = request.body else { throw AWSTestProcessError(description: "no byte body") }
        return try JSONParser.parse(bytes)
    }

    @Test("ReceiveMessage: JSON 1.0 target, query mode, QueueUrl and the attribute names in the body")
    func receiveWire() async throws {
        let http = AWSTestScriptedHTTP([
            Self.ok([
                "Messages": [[
                    "MessageId": "m1", "ReceiptHandle": "r1", "Body": "b",
                    "Attributes": ["ApproximateReceiveCount": "3", "SentTimestamp": "1700000000123"],
                    "MessageAttributes": [
                        "s": ["DataType": "String", "StringValue": "v"],
                        "n": ["DataType": "Number", "StringValue": "1"],
                    ],
                ]]
            ])
        ])
        let queue = try queue(http)
        #expect(queue.defaultVisibilitySeconds == 45 && queue.maxMessageBytes == 1_048_576)
        let messages = try await queue.receive(max: 5, waitSeconds: 20, visibilitySeconds: 45)
        #expect(
            messages == [
                ReceivedMessage(
                    messageId: "m1", body: "b", attributes: ["s": "v"], receipt: "r1", receiveCount: 3,
                    sentAt: "2023-11-14T22:13:20.123Z"
                )
            ]
        )
        let sent = try #require(http.requests.first)
        #expect(sent.headers.contains { $0.name == "x-amz-target" && $0.value == "AmazonSQS.ReceiveMessage" })
        #expect(sent.headers.contains { $0.name == "content-type" && $0.value == "application/x-amz-json-1.0" })
        #expect(sent.headers.contains { $0.name == "x-amzn-query-mode" && $0.value == "true" })
        #expect(
            try Self.sentBody(sent) == [
                "QueueUrl": .string(Self.queueURL), "MaxNumberOfMessages": 5, "WaitTimeSeconds": 20, "VisibilityTimeout": 45,
                "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"], "MessageAttributeNames": ["All"],
            ]
        )
    }

    @Test("SendMessageBatch Failed[]: SenderFault → fatal, otherwise recoverable; results in input order")
    func batchEntryErrors() async throws {
        let http = AWSTestScriptedHTTP([
            Self.ok([
                "Successful": [["Id": "2", "MessageId": "id-2"], ["Id": "0", "MessageId": "id-0"]],
                "Failed": [
                    ["Id": "1", "Code": "InvalidMessageContents", "Message": "bad chars", "SenderFault": true],
                    ["Id": "3", "Code": "InternalError", "Message": "oops", "SenderFault": false],
                ],
            ])
        ])
        let queue = try queue(http)
        let results = try await queue.sendBatch(
            (0..<4).map { OutgoingMessage(body: "m\($0)", attributes: ["k": "v"], delaySeconds: 5, groupId: "g", deduplicationId: "d\($0)") }
        )
        #expect(try results[0].get() == "id-0" && results[2].get() == "id-2")
        guard case .failure(let fatal) = results[1], case .failure(let recoverable) = results[3] else {
            Issue.record("entries 1 and 3 should fail: \(results)")
            return
        }
        #expect(fatal.code.kind == .fatal && fatal.message.contains("InvalidMessageContents"))
        #expect(fatal.upstream("code") == "InvalidMessageContents" && fatal.upstream("senderFault") == true)
        #expect(recoverable.code.kind == .recoverable && recoverable.code == .unavailable)
        let body = try Self.sentBody(try #require(http.requests.first))
        #expect(body["QueueUrl"]?.stringValue == Self.queueURL)
        #expect(
            body["Entries"]?.arrayValue?.first == [
                "MessageBody": "m0", "MessageAttributes": ["k": ["DataType": "String", "StringValue": "v"]],
                "DelaySeconds": 5, "MessageGroupId": "g", "MessageDeduplicationId": "d0", "Id": "0",
            ]
        )
    }

    @Test("a whole batch call that fails fatally fails its entries and the unsent ones, without more requests")
    func batchCallFailure() async throws {
        let http = AWSTestScriptedHTTP([awsTestJSONError(400, "com.amazonaws.sqs#QueueDoesNotExist", "no queue")])
        let queue = try queue(http)
        let results = try await queue.sendBatch((0..<15).map { OutgoingMessage(body: "m\($0)") })
        #expect(results.count == 15 && http.requests.count == 1)
        for result in results {
            guard case .failure(let error) = result else {
                Issue.record("succeeded")
                continue
            }
            #expect(error.code == .notFound)
        }
    }

    @Test("DeleteMessage ReceiptHandleIsInvalid (legacy header code) → NotFound")
    func deleteUnknownReceipt() async throws {
        let http = AWSTestScriptedHTTP([
            awsTestJSONError(
                400, "com.amazonaws.sqs#ReceiptHandleIsInvalid", "The input receipt handle is invalid.",
                headers: [("x-amzn-query-error", "ReceiptHandleIsInvalid;Sender")]
            )
        ])
        do {
            try await queue(http).ack(receipt: "stale")
            Issue.record("acked")
        } catch let error as RolloutError {
            #expect(error.code == .notFound && error.message.contains("receipt is unknown or expired"))
            #expect(error.upstream("code") == "ReceiptHandleIsInvalid")
        }
    }
}
