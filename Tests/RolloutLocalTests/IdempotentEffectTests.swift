import Foundation
import RolloutCore
import RolloutLocal
import RolloutRPC
import RolloutStore
import Synchronization
import Testing

@Suite("Local provider: a keyed effect and its idempotency record commit together (SPEC §3.2)")
struct IdempotentEffectTests {
    /// Runs `effect` as the keyed call (method, key) through the gate and returns what the
    /// effect's own transaction recorded (read before the gate records anything) and what the
    /// operation answered, encoded as the handlers' result types encode.
    private static func recorded(
        _ store: StateStore, method: String, key: String = "k", _ effect: @escaping @Sendable () async throws -> JSONValue
    ) async throws -> (recorded: JSONValue?, answered: JSONValue) {
        let records = IdempotencyRecords(store: store, ttlSeconds: 60)
        let seen = Mutex<JSONValue?>(nil)
        let (answered, _) = try await records.run(method: method, key: key, params: ["n": 1], deadline: nil) {
            let value = try await effect()
            let stored = try await records.storedRecord(method: method, key: key)
            let parsed: JSONValue? = if case .finished(let outcome) = stored { outcome } else { nil }
            seen.withLock { $0 = parsed }
            return value
        }
        return (seen.withLock { $0 }, answered)
    }

    @Test("object.put records the PutObjectResult encoding in the index row's transaction")
    func put() async throws {
        try await withProviderAndStore { provider, store, _ in
            let (recorded, answered) = try await Self.recorded(store, method: ObjectPut.name) {
                try JSONValueEncoder().encode(
                    try await provider.objects.put(PutObjectRequest(key: "a", source: .bytes([1, 2, 3])), progress: .none)
                )
            }
            #expect(recorded == .object(["result": answered]))
            #expect(answered["size"] == 3 && answered["parts"] == 1)
        }
    }

    @Test("object.delete records {key, deleted: true}, also for an absent key")
    func delete() async throws {
        try await withProviderAndStore { provider, store, _ in
            _ = try await provider.objects.put(PutObjectRequest(key: "a", source: .bytes([1])), progress: .none)
            for (key, idempotencyKey) in [("a", "k1"), ("absent", "k2")] {
                let (recorded, answered) = try await Self.recorded(store, method: ObjectDelete.name, key: idempotencyKey) {
                    try await provider.objects.delete(key: key)
                    return try JSONValueEncoder().encode(ObjectDelete.Result(key: key))
                }
                #expect(recorded == .object(["result": answered]))
                #expect(answered == .object(["key": .string(key), "deleted": true]))
            }
        }
    }

    @Test("queue.send records {messageId} with the message")
    func send() async throws {
        try await withProviderAndStore { provider, store, _ in
            let (recorded, answered) = try await Self.recorded(store, method: QueueSend.name) {
                try JSONValueEncoder().encode(QueueSend.Result(messageId: try await provider.queue.send(OutgoingMessage(body: "x"))))
            }
            #expect(recorded == .object(["result": answered]))
        }
    }

    @Test("queue.sendBatch records {results} with the messages, failed entries included")
    func sendBatch() async throws {
        try await withProviderAndStore { provider, store, _ in
            let messages = [OutgoingMessage(body: "a"), OutgoingMessage(body: String(repeating: "x", count: 1_048_577))]
            let (recorded, answered) = try await Self.recorded(store, method: QueueSendBatch.name) {
                try JSONValueEncoder().encode(QueueSendBatch.Result(outcomes: try await provider.queue.sendBatch(messages)))
            }
            #expect(recorded == .object(["result": answered]))
            #expect(answered["results"]?.arrayValue?.last?["error"]?["data"]?["reason"] == "TooLarge")
        }
    }

    @Test("an effect whose call already has an outcome is rolled back")
    func secondEffectRolledBack() async throws {
        try await withProviderAndStore { provider, store, _ in
            let call = IdempotentCall(method: QueueSend.name, key: "k", fingerprint: [1], createdAt: 1, expiresAt: 1e12, resuming: false)
            try await IdempotentCall.$current.withValue(call) {
                _ = try await provider.queue.send(OutgoingMessage(body: "first"))
                await #expect(throws: RolloutError.self) { _ = try await provider.queue.send(OutgoingMessage(body: "second")) }
            }
            let bodies = try await provider.queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30).map(\.body)
            #expect(bodies == ["first"])
        }
    }

    @Test("a local.sqlite of an earlier version is imported into the state database once")
    func legacyImport() async throws {
        try await withTemporaryDirectory { directory in
            let root = directory + "/root"
            try FileManager.default.createDirectory(atPath: root + "/objects/ab", withIntermediateDirectories: true)
            let blob = "ab" + String(repeating: "1", count: 30)
            try Data([4, 2]).write(to: URL(fileURLWithPath: root + "/objects/ab/" + blob))
            // The legacy file held the provider's four tables with the columns the state database
            // has: a state database holding the rows, copied to `local.sqlite`, is one.
            do {
                let legacy = try StateStore(directory: directory + "/legacy")
                let tables = SQLiteLocalTables(store: legacy)
                _ = try tables.swapIn(
                    IndexedObject(key: "old", blob: blob, size: 2, etag: "e", contentId: "c", contentType: nil, metadata: [:], lastModified: 0),
                    check: { _ in }, finishing: nil
                )
                _ = try await tables.insert(
                    [.success(OutgoingMessage(body: "kept"))], ids: ["m1"], now: 1, deduplicationWindow: 300, finishing: nil
                )
                try legacy.close()
                try FileManager.default.copyItem(atPath: directory + "/legacy/state.sqlite", toPath: root + "/local.sqlite")
            }
            for _ in 0..<2 {
                let store = try StateStore(directory: directory + "/state")
                let provider = try LocalProvider(
                    root: root, tables: SQLiteLocalTables(store: store), secretsAllowlist: [], visibilityTimeoutSecs: 30, multipartChunkBytes: 1 << 20,
                    maxObjectBytes: 1 << 20
                )
                let got = try await provider.objects.get(GetObjectRequest(key: "old", destination: .memory(limit: 10)), progress: .none)
                #expect(got.data == [4, 2])
                try store.close()
            }
            #expect(!FileManager.default.fileExists(atPath: root + "/local.sqlite"))
            #expect(FileManager.default.fileExists(atPath: root + "/local.sqlite.imported"))
            let store = try StateStore(directory: directory + "/state")
            defer { try? store.close() }
            let provider = try LocalProvider(
                root: root, tables: SQLiteLocalTables(store: store), secretsAllowlist: [], visibilityTimeoutSecs: 30, multipartChunkBytes: 1 << 20,
                maxObjectBytes: 1 << 20
            )
            let messages = try await provider.queue.receive(max: 10, waitSeconds: 0, visibilitySeconds: 30)
            #expect(messages.map(\.body) == ["kept"])
        }
    }
}
