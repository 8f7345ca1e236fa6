import RolloutCore
import RolloutRPC
import Testing

@Suite("JSON-RPC envelope classification")
struct EnvelopeTests {
    @Test("requests, notifications and ids")
    func requests() {
        #expect(Envelope.parse(line: Array(#"{"jsonrpc":"2.0","id":1,"method":"a"}"#.utf8), maxBatchItems: 1000)
            == .single(.request(id: RequestID(1), method: "a", params: nil)))
        #expect(Envelope.parse(line: Array(#"{"jsonrpc":"2.0","method":"a","params":{"x":1}}"#.utf8), maxBatchItems: 1000)
            == .single(.notification(method: "a", params: .object(["x": 1]))))
        guard case .single(.request(let id, _, _)) = Envelope.parse(line: Array(#"{"jsonrpc":"2.0","id":1.50,"method":"a"}"#.utf8), maxBatchItems: 1000) else {
            Issue.record("not a request")
            return
        }
        #expect(id.description == "1.50")
    }

    @Test("invalid shapes", arguments: [
        (#"{"jsonrpc":"2.1","id":1,"method":"a"}"#, "1"),
        (#"{"id":1,"method":"a"}"#, "1"),
        (#"{"jsonrpc":"2.0","id":[1],"method":"a"}"#, "null"),
        (#"{"jsonrpc":"2.0","id":true,"method":"a"}"#, "null"),
        (#"{"jsonrpc":"2.0","id":2,"method":7}"#, "2"),
        (#"{"jsonrpc":"2.0","id":3}"#, "3"),
    ])
    func invalid(line: String, id: String) {
        guard case .single(.invalid(let got, let error)) = Envelope.parse(line: Array(line.utf8), maxBatchItems: 1000) else {
            Issue.record("expected invalid for \(line)")
            return
        }
        #expect(got.description == id)
        #expect(error.code == .invalidRequest)
    }

    @Test("batches: empty, junk")
    func batches() {
        guard case .rejected(let empty) = Envelope.parse(line: Array("[]".utf8), maxBatchItems: 1000) else {
            Issue.record("[] must be rejected as a whole")
            return
        }
        #expect(empty.code == .invalidRequest)
        guard case .batch(let items) = Envelope.parse(line: Array("[1,2]".utf8), maxBatchItems: 1000) else {
            Issue.record("[1,2] is a batch of invalid items")
            return
        }
        #expect(items.count == 2)
    }

    @Test("a batch over max_batch_items is one TooLarge error; at the limit it is served", arguments: [1, 3, 1000])
    func batchLimit(limit: Int) {
        func batch(_ count: Int) -> [UInt8] {
            Array(("[" + Array(repeating: #"{"jsonrpc":"2.0","method":"a"}"#, count: count).joined(separator: ",") + "]").utf8)
        }
        guard case .batch(let items) = Envelope.parse(line: batch(limit), maxBatchItems: limit) else {
            Issue.record("a batch of exactly max_batch_items entries is served")
            return
        }
        #expect(items.count == limit)
        guard case .rejected(let error) = Envelope.parse(line: batch(limit + 1), maxBatchItems: limit) else {
            Issue.record("an oversized batch is rejected")
            return
        }
        #expect(error.code == .invalidRequest)
        #expect(error.wireData["reason"] == "TooLarge")
        #expect(error.message.contains("max_batch_items"))
    }

    @Test("bad JSON is a parse error")
    func parseError() {
        guard case .rejected(let error) = Envelope.parse(line: Array("{nope".utf8), maxBatchItems: 1000) else {
            Issue.record("expected a parse error")
            return
        }
        #expect(error.code == .parseError)
    }

    @Test("error responses carry kind and reason")
    func errorResponse() {
        let response = Outgoing.error(id: RequestID("x"), RolloutError(.throttled, "slow down", data: ["retryAfterMs": 250]))
        #expect(response["error"]?["code"] == .number(JSONNumber(-32001)))
        #expect(response["error"]?["data"]?["kind"] == "recoverable")
        #expect(response["error"]?["data"]?["reason"] == "Throttled")
        #expect(response["error"]?["data"]?["retryAfterMs"] == 250)
        #expect(!Outgoing.line(response).dropLast().contains(UInt8(ascii: "\n")))
    }
}
