import RolloutClient
import RolloutCore
import RolloutRPC
import Synchronization
import Testing

@Suite("rolloutd through the Swift client", .serialized)
struct DaemonTests {
    @Test("typed calls round-trip objects and queue messages")
    func typedCalls() async throws {
        try await withTestDaemon { client, _ in
            let put = try await client.call(ObjectPut.self, .init(key: "greeting", text: "hello"))
            #expect(put.size == 5)
            let head = try await client.call(ObjectHead.self, .init(key: "greeting"))
            #expect(head.etag == put.etag)
            #expect(head.contentId == put.contentId)
            let sent = try await client.call(QueueSend.self, OutgoingMessage(body: "job"))
            let received = try await client.call(QueueReceive.self, .init(max: 10))
            #expect(received.messages.map(\.messageId) == [sent.messageId])
        }
    }

    @Test("twenty concurrent calls with one idempotency key have one effect")
    func idempotentConcurrency() async throws {
        try await withTestDaemon { client, _ in
            let ids = try await withThrowingTaskGroup(of: String.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await client.call(QueueSend.self, OutgoingMessage(body: "once"), extra: ["idempotencyKey": "k"]).messageId
                    }
                }
                return try await group.reduce(into: Set<String>()) { $0.insert($1) }
            }
            #expect(ids.count == 1)
            let received = try await client.call(QueueReceive.self, .init(max: 10))
            #expect(received.messages.count == 1)
        }
    }

    @Test("cancelling a call sends $/cancelRequest and the daemon stops the work")
    func cancellation() async throws {
        try await withTestDaemon { client, _ in
            let task = Task { try await client.call(QueueReceive.self, .init(waitSeconds: 20)) }
            try await Task.sleep(for: .milliseconds(200))
            let start = ContinuousClock.now
            task.cancel()
            await #expect(throws: RolloutError.self) { try await task.value }
            #expect(ContinuousClock.now - start < .seconds(15), "ended by the cancel, not after 20 s")
            // The connection is still usable.
            _ = try await client.call(Ping.self, NoParams())
        }
    }

    @Test("a call cancelled at any instant, even before its request is written, ends at once")
    func cancellationAtAnyInstant() async throws {
        try await withTestDaemon { client, _ in
            // Before, a cancel that came before the request was written went out first, named an
            // id the daemon did not know yet and was dropped: the receive then ran its full wait.
            // 20 s, so that "at once" (under 10 s, measured from the cancel) keeps a wide margin
            // on a loaded machine, whose scheduling delays count in the measurement.
            for round in 0..<60 {
                let task = Task { try await client.call(QueueReceive.self, .init(waitSeconds: 20)) }
                switch round % 4 {
                case 0: break
                case 1: await Task.yield()
                case 2: try await Task.sleep(for: .microseconds(200))
                default: try await Task.sleep(for: .milliseconds(5))
                }
                let start = ContinuousClock.now
                task.cancel()
                _ = try? await task.value
                let took = ContinuousClock.now - start
                #expect(took < .seconds(10), "round \(round): the cancel was lost and the call ran \(took)")
                if took >= .seconds(10) { break }
            }
            _ = try await client.call(Ping.self, NoParams())
        }
    }

    @Test("progress callbacks see bytes done up to the file size")
    func progress() async throws {
        try await withTestDaemon { client, daemon in
            let size = 6 * 1024 * 1024
            try TestDaemon.write(String(repeating: "x", count: size), to: daemon.files + "/big.txt")
            let seen = Mutex<[Int64]>([])
            let result = try await client.call(ObjectPut.self, .init(key: "big", path: daemon.files + "/big.txt")) { params in
                if let done = params["bytesDone"]?.int64Value { seen.withLock { $0.append(done) } }
            }
            #expect(result.size == Int64(size))
            let values = seen.withLock { $0 }
            #expect(!values.isEmpty)
            #expect(values == values.sorted())
            #expect(values.last == Int64(size))
        }
    }

    @Test("domain errors arrive typed, with kind-bearing codes")
    func errors() async throws {
        try await withTestDaemon { client, _ in
            do {
                _ = try await client.call(ObjectHead.self, .init(key: "missing"))
                Issue.record("expected NotFound")
            } catch let error as RolloutError {
                #expect(error.code == .notFound)
                #expect(error.code.kind == .fatal)
            }
            do {
                _ = try await client.call("rollout.start", params: [:])
                Issue.record("expected Unsupported")
            } catch let error as RolloutError {
                #expect(error.code == .unsupported)
            }
        }
    }
}
