import Logging
import RolloutCore
import RolloutRPC
import Synchronization
import Testing

/// Records every line a logger emits, with its level.
private final class LogRecorder: Sendable {
    let lines = Mutex<[(level: Logger.Level, message: String, method: String?)]>([])

    func logger(level: Logger.Level) -> Logger {
        Logger(label: "test") { _ in Handler(recorder: self, logLevel: level) }
    }

    struct Handler: LogHandler {
        let recorder: LogRecorder
        var logLevel: Logger.Level
        var metadata: Logger.Metadata = [:]

        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }

        func log(event: LogEvent) {
            let method = event.metadata?["rpc.method"].map { "\($0)" }
            recorder.lines.withLock { $0.append((event.level, event.message.description, method)) }
        }
    }
}

private let connection = ConnectionInfo(id: 1, peer: Peer(uid: 0, gid: 0, pid: 1)) { _ in }

@Suite("Request logs: debug per request; info only for the slow; errors above")
struct RequestLogTests {
    private func dispatcher(_ recorder: LogRecorder, level: Logger.Level, slow: Duration) -> Dispatcher {
        var registry = MethodRegistry()
        registry.register(Ping.self) { _, _ in EmptyResult() }
        registry.register(ObjectHead.self) { params, _ in
            if params.key == "missing" { throw RolloutError.notFound("no such object") }
            try await Task.sleep(for: .milliseconds(30))
            return ObjectInfo(key: params.key, size: 1, etag: "e", contentId: nil, contentType: nil, metadata: [:], lastModified: nil)
        }
        return Dispatcher(registry: registry, idempotency: nil, logger: recorder.logger(level: level), slowRequest: slow)
    }

    @Test("at info, a thousand successful requests write nothing; a failure writes one line")
    func infoLevel() async {
        let recorder = LogRecorder()
        let d = dispatcher(recorder, level: .info, slow: .seconds(3600))
        for index in 0..<1000 {
            _ = await d.handle(.request(id: RequestID(index), method: "sys.ping", params: nil), connection: connection)
        }
        _ = await d.handle(.request(id: RequestID(1), method: "object.head", params: .object(["key": "slow"])), connection: connection)
        #expect(recorder.lines.withLock { $0.isEmpty })
        _ = await d.handle(.request(id: RequestID(2), method: "object.head", params: .object(["key": "missing"])), connection: connection)
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.map(\.level) == [.notice])
        #expect(lines.map(\.message) == ["request failed"])
        #expect(lines.allSatisfy { $0.method == "object.head" })
    }

    @Test("at info, a request slower than the threshold writes one line")
    func slowRequest() async {
        let recorder = LogRecorder()
        // The handler sleeps 30 ms, so it is slower than 1 ms however busy the machine is.
        let d = dispatcher(recorder, level: .info, slow: .milliseconds(1))
        _ = await d.handle(.request(id: RequestID(1), method: "object.head", params: .object(["key": "slow"])), connection: connection)
        let lines = recorder.lines.withLock { $0 }
        #expect(lines.map(\.level) == [.info])
        #expect(lines.map(\.message) == ["slow request"])
        #expect(lines.first?.method == "object.head")
    }

    @Test("at debug, every request is logged")
    func debugLevel() async {
        let recorder = LogRecorder()
        let d = dispatcher(recorder, level: .debug, slow: .seconds(60))
        for index in 0..<10 {
            _ = await d.handle(.request(id: RequestID(index), method: "sys.ping", params: nil), connection: connection)
        }
        #expect(recorder.lines.withLock { $0.map(\.level) } == Array(repeating: .debug, count: 10))
    }
}
