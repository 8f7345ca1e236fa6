import Logging
import RolloutCore
import RolloutRPC
import Synchronization
import Testing
import Glibc

private let connection = ConnectionInfo(id: 1, peer: Peer(uid: 0, gid: 0, pid: 1)) { _ in }

private func dispatcher(_ configure: (inout MethodRegistry) -> Void) -> Dispatcher {
    var registry = MethodRegistry()
    configure(&registry)
    return Dispatcher(registry: registry, idempotency: nil, logger: Logger(label: "test"))
}

@Suite("Dispatcher: params, deadlines, errors")
struct DispatcherTests {
    @Test("typed params decode by name; unknown members are rejected with their name")
    func params() async {
        let d = dispatcher { $0.register(ObjectHead.self) { params, _ in
            ObjectInfo(key: params.key, size: 1, etag: "e", contentId: nil, contentType: nil, metadata: [:], lastModified: nil)
        } }
        let ok = await d.handle(.request(id: RequestID(1), method: "object.head", params: .object(["key": "k"])), connection: connection)
        #expect(ok?["result"]?["key"] == "k")
        let bad = await d.handle(.request(id: RequestID(2), method: "object.head", params: .object(["key": "k", "extra": 1])), connection: connection)
        #expect(bad?["error"]?["code"] == .number(JSONNumber(-32602)))
        #expect(bad?["error"]?["message"]?.stringValue?.contains("extra") == true)
        let missing = await d.handle(.request(id: RequestID(3), method: "object.head", params: .object([:])), connection: connection)
        #expect(missing?["error"]?["message"]?.stringValue?.contains("key") == true)
    }

    // The handler would sleep an hour: only the deadline can end it (a fixed 10 s sleep could
    // finish first on a machine loaded enough to hold the 50 ms timer back that long).
    @Test("timeoutMs cancels the handler and answers DeadlineExceeded", .timeLimit(.minutes(2)))
    func deadline() async {
        let cancelled = Mutex(false)
        let d = dispatcher { $0.register(Ping.self) { _, _ in
            do {
                try await Task.sleep(for: .seconds(3600))
            } catch {
                cancelled.withLock { $0 = true }
                throw error
            }
            return EmptyResult()
        } }
        let response = await d.handle(.request(id: RequestID(1), method: "sys.ping", params: .object(["timeoutMs": 50])), connection: connection)
        #expect(response?["error"]?["data"]?["reason"] == "DeadlineExceeded")
        #expect(cancelled.withLock { $0 })
    }

    @Test("unexpected errors become -32603 without details")
    func internalError() async {
        struct Secret: Error {}
        let d = dispatcher { $0.register(Ping.self) { _, _ in throw Secret() } }
        let response = await d.handle(.request(id: RequestID(1), method: "sys.ping", params: nil), connection: connection)
        #expect(response?["error"]?["code"] == .number(JSONNumber(-32603)))
        #expect(response?["error"]?["message"] == "internal error")
    }

    @Test("notifications get no response, even for errors")
    func notifications() async {
        let d = dispatcher { _ in }
        #expect(await d.handle(.notification(method: "no.such", params: nil), connection: connection) == nil)
    }

    @Test("progress notifications carry the token")
    func progress() async {
        let sent = Mutex<[JSONValue]>([])
        let conn = ConnectionInfo(id: 1, peer: Peer(uid: 0, gid: 0, pid: 1)) { message in sent.withLock { $0.append(message) } }
        let d = dispatcher { $0.register(Ping.self) { _, context in
            context.progress.bytes(done: 1, total: 2)
            context.progress.bytes(done: 2, total: 2, final: true)
            return EmptyResult()
        } }
        _ = await d.handle(.request(id: RequestID(1), method: "sys.ping", params: .object(["progressToken": "t"])), connection: conn)
        let messages = sent.withLock { $0 }
        #expect(messages.count == 2)
        #expect(messages.first?["method"] == "$/progress")
        #expect(messages.last?["params"]?["progressToken"] == "t")
        #expect(messages.last?["params"]?["bytesDone"] == 2)
    }

    @Test("every method type is described in proto-json/rollout.openrpc.json and vice versa")
    func openRPCCoverage() throws {
        let path = String(#filePath).split(separator: "/").dropLast(3).joined(separator: "/")
        let file = "/" + path + "/proto-json/rollout.openrpc.json"
        guard let handle = fopen(file, "r") else {
            Issue.record("cannot open \(file)")
            return
        }
        defer { fclose(handle) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = fread(&buffer, 1, buffer.count, handle)
            if n <= 0 { break }
            bytes.append(contentsOf: buffer[0..<n])
        }
        let document = try JSONParser.parse(bytes)
        let documented = Set((document["methods"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue })
        let registered = Set(RPCMethods.all.map { $0.name })
        #expect(documented == registered)
    }
}
