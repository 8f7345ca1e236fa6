import RolloutCore
import RolloutRPC
import Testing

@Suite("JSON-RPC envelope classification")
struct EnvelopeTests {
    @Test("requests, notifications and ids")
    func requests() {
        #expect(Envelope.parse(line: Array(#"{"jsonrpc":"2.0","id":1,"method":"a"}"#.utf8))
            == .single(.request(id: RequestID(1), method: "a", params: nil)))
        #expect(Envelope.parse(line: Array(#"{"jsonrpc":"2.0","method":"a","params":{"x":1}}"#.utf8))
            == .single(.notification(method: "a", params: .object(["x": 1]))))
        guard case .single(.request(let id, _, _)) = Envelope.parse(line: Array(#"{"jsonrpc":"2.0","id":1.50,"method":"a"}"#.utf8)) else {
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
        guard case .single(.invalid(let got, let error)) = Envelope.parse(line: Array(line.utf8)) else {
            Issue.record("expected invalid for \(line)")
            return
        }
        #expect(got.description == id)
        #expect(error.code == .invalidRequest)
    }

    @Test("batches: empty, junk, too many")
    func batches() {
        guard case .rejected(let empty) = Envelope.parse(line: Array("[]".utf8)) else {
            Issue.record("[] must be rejected as a whole")
            return
        }
        #expect(empty.code == .invalidRequest)
        guard case .batch(let items) = Envelope.parse(line: Array("[1,2]".utf8)) else {
            Issue.record("[1,2] is a batch of invalid items")
            return
        }
        #expect(items.count == 2)
        let many = "[" + Array(repeating: #"{"jsonrpc":"2.0","method":"a"}"#, count: Envelope.maxBatchItems + 1).joined(separator: ",") + "]"
        guard case .rejected = Envelope.parse(line: Array(many.utf8)) else {
            Issue.record("an oversized batch is rejected")
            return
        }
    }

    @Test("bad JSON is a parse error")
    func parseError() {
        guard case .rejected(let error) = Envelope.parse(line: Array("{nope".utf8)) else {
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
