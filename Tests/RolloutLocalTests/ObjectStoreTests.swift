import Foundation
import RolloutCore
import RolloutCrypto
import RolloutLocal
import RolloutStore
import Synchronization
import Testing

@Suite("Local object store")
struct ObjectStoreTests {
    /// contentId computed independently of ContentIDHasher: SHA-256 over the concatenated
    /// SHA-256 digests of each `chunk`-byte slice (one empty chunk for an empty body).
    static func expectedContentID(_ bytes: [UInt8], chunk: Int) -> String {
        var digests: [UInt8] = []
        for start in stride(from: 0, to: max(bytes.count, 1), by: chunk) {
            digests += Digest.sha256(Array(bytes[start..<min(start + chunk, bytes.count)]))
        }
        return Digest.sha256(digests).hexString
    }

    @Test("put, head, get, delete round trip with inline bytes")
    func bytesRoundTrip() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            let body = Array("hello".utf8)
            let put = try await store.put(
                PutObjectRequest(key: "greetings/hello.txt", source: .bytes(body), contentType: "text/plain", metadata: ["lang": "en"]),
                progress: .none
            )
            #expect(put == PutObjectResult(
                key: "greetings/hello.txt", size: 5, etag: "5d41402abc4b2a76b9719d911017c592",
                contentId: Self.expectedContentID(body, chunk: 16 << 20), parts: 1
            ))

            let info = try await store.head(key: "greetings/hello.txt")
            #expect(info.size == 5)
            #expect(info.etag == put.etag)
            #expect(info.contentId == put.contentId)
            #expect(info.contentType == "text/plain")
            #expect(info.metadata == ["lang": "en"])
            #expect(isRFC3339Milliseconds(try #require(info.lastModified)))

            let got = try await store.get(GetObjectRequest(key: "greetings/hello.txt", destination: .memory(limit: 1024)), progress: .none)
            #expect(got.data == body)
            #expect(got.info == info)

            try await store.delete(key: "greetings/hello.txt")
            await expectError(.notFound, containing: ["greetings/hello.txt"]) { _ = try await store.head(key: "greetings/hello.txt") }
            await expectError(.notFound, containing: ["greetings/hello.txt"]) {
                _ = try await store.get(GetObjectRequest(key: "greetings/hello.txt", destination: .memory(limit: 1024)), progress: .none)
            }
            // Deleting an absent key succeeds, as on S3.
            try await store.delete(key: "greetings/hello.txt")
            #expect(regularFiles(under: provider.root + "/objects").isEmpty)
        }
    }

    @Test("an empty object has the content id of one empty chunk")
    func emptyObject() async throws {
        try await withProvider { provider, _ in
            let put = try await provider.objects.put(PutObjectRequest(key: "empty", source: .bytes([])), progress: .none)
            #expect(put.size == 0)
            #expect(put.etag == "d41d8cd98f00b204e9800998ecf8427e")
            #expect(put.contentId == Digest.sha256(Digest.sha256([UInt8]())).hexString)
            let got = try await provider.objects.get(GetObjectRequest(key: "empty", destination: .memory(limit: 0)), progress: .none)
            #expect(got.data == [])
        }
    }

    @Test("a 3 MiB file streams in with a chunked content id, MD5 etag and progress reports")
    func fileSource() async throws {
        let chunk = (1 << 20) + 7
        try await withProvider(chunkBytes: chunk) { provider, directory in
            let bytes = patternBytes(3 << 20 | 123)
            let source = directory + "/source.bin"
            try Data(bytes).write(to: URL(fileURLWithPath: source))

            let reports = Mutex<[(done: Int64, final: Bool)]>([])
            let progress = ProgressReporter { fields, coalescible in
                let done = fields["bytesDone"]?.int64Value ?? -1
                reports.withLock { $0.append((done, !coalescible)) }
            }
            let put = try await provider.objects.put(PutObjectRequest(key: "big.bin", source: .file(path: source)), progress: progress)
            #expect(put.size == Int64(bytes.count))
            #expect(put.contentId == Self.expectedContentID(bytes, chunk: chunk))
            #expect(put.etag == Digest.hash(.md5, bytes).hexString)
            #expect(put.parts == 1)
            let seen = reports.withLock { $0 }
            #expect(seen.count >= 3)
            #expect(seen.last?.done == Int64(bytes.count))
            #expect(seen.last?.final == true)

            let destination = directory + "/out/copy.bin"
            try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
            let got = try await provider.objects.get(GetObjectRequest(key: "big.bin", destination: .file(path: destination)), progress: .none)
            #expect(got.data == nil)
            #expect(got.info.size == Int64(bytes.count))
            #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == Data(bytes))
            #expect(regularFiles(under: directory + "/out") == ["copy.bin"])
        }
    }

    @Test("ifNoneMatch and ifMatch are checked against the current object")
    func conditionalPuts() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            let first = try await store.put(PutObjectRequest(key: "k", source: .bytes([1]), ifNoneMatch: true), progress: .none)
            await expectError(.preconditionFailed, containing: ["\"k\""]) {
                _ = try await store.put(PutObjectRequest(key: "k", source: .bytes([2]), ifNoneMatch: true), progress: .none)
            }
            await expectError(.preconditionFailed) {
                _ = try await store.put(PutObjectRequest(key: "k", source: .bytes([2]), ifMatch: "0123"), progress: .none)
            }
            await expectError(.preconditionFailed) {
                _ = try await store.put(PutObjectRequest(key: "absent", source: .bytes([2]), ifMatch: first.etag), progress: .none)
            }
            // Failed puts leave the object alone and leave no body behind.
            #expect(try await store.head(key: "k").etag == first.etag)
            #expect(regularFiles(under: provider.root + "/objects").count == 1)

            let second = try await store.put(PutObjectRequest(key: "k", source: .bytes([2]), ifMatch: first.etag), progress: .none)
            // The quoted form S3 shows is accepted too.
            let third = try await store.put(PutObjectRequest(key: "k", source: .bytes([3]), ifMatch: "\"\(second.etag)\""), progress: .none)
            #expect(try await store.head(key: "k").etag == third.etag)
            // Replaced bodies are removed.
            #expect(regularFiles(under: provider.root + "/objects").count == 1)
        }
    }

    @Test("concurrent ifNoneMatch puts of one key: exactly one wins")
    func concurrentCreate() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            let outcomes = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        (try? await store.put(
                            PutObjectRequest(key: "once", source: .bytes([UInt8(index)]), ifNoneMatch: true), progress: .none
                        )) != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 }.count == 1)
            #expect(regularFiles(under: provider.root + "/objects").count == 1)
        }
    }

    @Test("range gets are inclusive, clamp the end and reject unsatisfiable ranges")
    func rangeGets() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            let bytes = patternBytes(100)
            let put = try await store.put(PutObjectRequest(key: "r", source: .bytes(bytes)), progress: .none)
            func get(_ start: Int64, _ end: Int64) async throws -> [UInt8]? {
                try await store.get(
                    GetObjectRequest(key: "r", range: ByteRange(start: start, end: end), destination: .memory(limit: 1000)),
                    progress: .none
                ).data
            }
            #expect(try await get(0, 0) == [bytes[0]])
            #expect(try await get(10, 19) == Array(bytes[10...19]))
            #expect(try await get(90, 5000) == Array(bytes[90...]))
            #expect(try await get(99, 99) == [bytes[99]])
            for (start, end) in [(5, 4), (100, 200), (-1, 3)] as [(Int64, Int64)] {
                await expectError(.invalidParams, containing: ["range"]) { _ = try await get(start, end) }
            }
            await expectError(.preconditionFailed) {
                _ = try await store.get(GetObjectRequest(key: "r", ifMatch: "nope", destination: .memory(limit: 1000)), progress: .none)
            }
            let matched = try await store.get(GetObjectRequest(key: "r", ifMatch: put.etag, destination: .memory(limit: 1000)), progress: .none)
            #expect(matched.data == bytes)
            await expectError(.tooLarge) {
                _ = try await store.get(GetObjectRequest(key: "r", destination: .memory(limit: 99)), progress: .none)
            }
            // The limit applies to the range, not the whole object.
            let ranged = try await store.get(
                GetObjectRequest(key: "r", range: ByteRange(start: 0, end: 98), destination: .memory(limit: 99)), progress: .none
            )
            #expect(ranged.data?.count == 99)
            #expect(ranged.info.size == 100)
        }
    }

    @Test("get to a file replaces it atomically and never leaves temp files")
    func getToFile() async throws {
        try await withProvider { provider, directory in
            let store = provider.objects
            _ = try await store.put(PutObjectRequest(key: "doc", source: .bytes(patternBytes(5000))), progress: .none)
            let destination = directory + "/dest.bin"
            try Data("old contents".utf8).write(to: URL(fileURLWithPath: destination))
            _ = try await store.get(
                GetObjectRequest(key: "doc", range: ByteRange(start: 1000, end: 1999), destination: .file(path: destination)),
                progress: .none
            )
            #expect(try Data(contentsOf: URL(fileURLWithPath: destination)) == Data(patternBytes(5000)[1000...1999]))

            // The target's directory is opened beneath the file roots before the store runs.
            await expectError(.notFound, containing: ["path"]) {
                _ = try await store.get(GetObjectRequest(key: "doc", destination: .file(path: directory + "/missing/dir/x")), progress: .none)
            }
            await expectError(.notFound) {
                _ = try await store.get(GetObjectRequest(key: "nope", destination: .file(path: directory + "/nope.bin")), progress: .none)
            }
            #expect(regularFiles(under: directory).filter { !$0.hasPrefix("root/") } == ["dest.bin"])
        }
    }

    @Test("objects over the limit fail with TooLarge before anything is written")
    func tooLarge() async throws {
        try await withProvider(maxObjectBytes: 10) { provider, directory in
            let store = provider.objects
            await expectError(.tooLarge) {
                _ = try await store.put(PutObjectRequest(key: "big", source: .bytes(patternBytes(11))), progress: .none)
            }
            let source = directory + "/eleven.bin"
            try Data(patternBytes(11)).write(to: URL(fileURLWithPath: source))
            await expectError(.tooLarge) {
                _ = try await store.put(PutObjectRequest(key: "big", source: .file(path: source)), progress: .none)
            }
            #expect(regularFiles(under: provider.root + "/objects").isEmpty)
            await expectError(.notFound) { _ = try await store.head(key: "big") }
            _ = try await store.put(PutObjectRequest(key: "fits", source: .bytes(patternBytes(10))), progress: .none)
        }
    }

    @Test("a source path that is missing is NotFound; a directory is InvalidParams")
    func badSourcePath() async throws {
        try await withProvider { provider, directory in
            await expectError(.notFound, containing: ["path"]) {
                _ = try await provider.objects.put(PutObjectRequest(key: "x", source: .file(path: directory + "/absent")), progress: .none)
            }
            await expectError(.invalidParams, containing: ["path"]) {
                _ = try await provider.objects.put(PutObjectRequest(key: "x", source: .file(path: directory)), progress: .none)
            }
        }
    }

    @Test("cancelling a put removes its partial body")
    func cancelledPut() async throws {
        try await withProvider { provider, directory in
            let source = directory + "/large.bin"
            try Data(count: 8 << 20).write(to: URL(fileURLWithPath: source))
            let parking = ParkingProgress()
            let store = provider.objects
            let put = Task {
                try await store.put(PutObjectRequest(key: "large", source: .file(path: source)), progress: parking.reporter)
            }
            await parking.waitUntilParked()
            put.cancel()
            parking.release()
            await #expect(throws: CancellationError.self) { _ = try await put.value }
            #expect(regularFiles(under: provider.root + "/objects").isEmpty)
            await expectError(.notFound) { _ = try await store.head(key: "large") }
        }
    }

    @Test("cancelling a get to a file leaves neither the file nor a temp file")
    func cancelledGetToFile() async throws {
        try await withProvider { provider, directory in
            let store = provider.objects
            _ = try await store.put(PutObjectRequest(key: "large", source: .bytes(patternBytes(4 << 20))), progress: .none)
            try FileManager.default.createDirectory(atPath: directory + "/out", withIntermediateDirectories: true)
            let parking = ParkingProgress()
            let get = Task {
                try await store.get(
                    GetObjectRequest(key: "large", destination: .file(path: directory + "/out/large.bin")), progress: parking.reporter
                )
            }
            await parking.waitUntilParked()
            get.cancel()
            parking.release()
            await #expect(throws: CancellationError.self) { _ = try await get.value }
            #expect(regularFiles(under: directory + "/out").isEmpty)
        }
    }

    @Test("keys a and a/b coexist, and a 1024-byte key with long segments works")
    func awkwardKeys() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            _ = try await store.put(PutObjectRequest(key: "a", source: .bytes([1])), progress: .none)
            _ = try await store.put(PutObjectRequest(key: "a/b", source: .bytes([2])), progress: .none)
            let longKey = String(repeating: "x", count: 300) + "/" + String(repeating: "é", count: 200) + "/"
                + String(repeating: "z", count: 1024 - 300 - 1 - 400 - 1)
            #expect(longKey.utf8.count == 1024)
            _ = try await store.put(PutObjectRequest(key: longKey, source: .bytes([3])), progress: .none)

            func read(_ key: String) async throws -> [UInt8]? {
                try await store.get(GetObjectRequest(key: key, destination: .memory(limit: 10)), progress: .none).data
            }
            #expect(try await read("a") == [1])
            #expect(try await read("a/b") == [2])
            #expect(try await read(longKey) == [3])
            let listing = try await store.list(prefix: nil, cursor: nil, limit: 10)
            #expect(listing.objects.map(\.key) == ["a", "a/b", longKey])
            #expect(listing.cursor == nil)
            try await store.delete(key: "a")
            #expect(try await read("a/b") == [2])
        }
    }

    @Test("list pages through keys in byte order, with prefixes and opaque cursors")
    func listPaging() async throws {
        try await withProvider { provider, _ in
            let store = provider.objects
            let keys = ["b", "a/c", "a", "ba", "a/b", "c", "Z", "é", "a0"]
            for key in keys {
                _ = try await store.put(PutObjectRequest(key: key, source: .bytes(Array(key.utf8))), progress: .none)
            }
            let byteOrder = keys.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }

            var seen: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try await store.list(prefix: nil, cursor: cursor, limit: 2)
                seen += page.objects.map(\.key)
                cursor = page.cursor
                pages += 1
                for object in page.objects {
                    #expect(object.size == Int64(object.key.utf8.count))
                    #expect(isRFC3339Milliseconds(object.lastModified))
                }
            } while cursor != nil
            #expect(seen == byteOrder)
            #expect(pages == 5)

            #expect(try await store.list(prefix: "a", cursor: nil, limit: 1000).objects.map(\.key) == ["a", "a/b", "a/c", "a0"])
            #expect(try await store.list(prefix: "a/", cursor: nil, limit: 1000).objects.map(\.key) == ["a/b", "a/c"])
            #expect(try await store.list(prefix: "b", cursor: nil, limit: 1000).objects.map(\.key) == ["b", "ba"])
            #expect(try await store.list(prefix: "é", cursor: nil, limit: 1000).objects.map(\.key) == ["é"])
            #expect(try await store.list(prefix: "q", cursor: nil, limit: 1000).objects.isEmpty)

            let first = try await store.list(prefix: "a", cursor: nil, limit: 3)
            #expect(first.objects.map(\.key) == ["a", "a/b", "a/c"])
            let cursorAfterFirst = try #require(first.cursor)
            let second = try await store.list(prefix: "a", cursor: cursorAfterFirst, limit: 3)
            #expect(second.objects.map(\.key) == ["a0"])
            #expect(second.cursor == nil)
            // A page that ends exactly at the last key has no cursor.
            #expect(try await store.list(prefix: "b", cursor: nil, limit: 2).cursor == nil)

            await expectError(.invalidParams, containing: ["cursor"]) { _ = try await store.list(prefix: nil, cursor: "zz!", limit: 2) }
            await expectError(.invalidParams, containing: ["limit"]) { _ = try await store.list(prefix: nil, cursor: nil, limit: 0) }
        }
    }

    @Test("objects and their bodies survive reopening the provider")
    func reopen() async throws {
        try await withTemporaryDirectory { directory in
            func open() throws -> (LocalProvider, StateStore) {
                let store = try StateStore(directory: directory + "/state")
                let provider = try LocalProvider(
                    root: directory + "/root", tables: SQLiteLocalTables(store: store), secretsAllowlist: [], visibilityTimeoutSecs: 30,
                    multipartChunkBytes: 1 << 20, maxObjectBytes: 1 << 20
                )
                return (provider, store)
            }
            let (first, firstStore) = try open()
            let put = try await first.objects.put(PutObjectRequest(key: "kept", source: .bytes([9, 9])), progress: .none)
            try firstStore.close()
            let (second, secondStore) = try open()
            defer { try? secondStore.close() }
            let got = try await second.objects.get(GetObjectRequest(key: "kept", destination: .memory(limit: 10)), progress: .none)
            #expect(got.data == [9, 9])
            #expect(got.info.etag == put.etag)
            #expect(regularFiles(under: directory + "/root/objects").count == 1)
        }
    }

    @Test("bodies left by an interrupted put are removed at the next start")
    func journalRecovery() async throws {
        try await withTemporaryDirectory { directory in
            let root = directory + "/root"
            func open() throws -> (LocalProvider, StateStore) {
                let store = try StateStore(directory: directory + "/state")
                let provider = try LocalProvider(
                    root: root, tables: SQLiteLocalTables(store: store), secretsAllowlist: [], visibilityTimeoutSecs: 30, multipartChunkBytes: 1 << 20,
                    maxObjectBytes: 1 << 20
                )
                return (provider, store)
            }
            let (first, firstStore) = try open()
            _ = try await first.objects.put(PutObjectRequest(key: "kept", source: .bytes([1])), progress: .none)
            try firstStore.close()

            // What a crash mid-put leaves: a journalled blob, renamed or still a temp file.
            let orphan = "ab" + String(repeating: "0", count: 30)
            try FileManager.default.createDirectory(atPath: root + "/objects/ab", withIntermediateDirectories: true)
            try Data([7]).write(to: URL(fileURLWithPath: root + "/objects/ab/" + orphan))
            try Data([7]).write(to: URL(fileURLWithPath: root + "/objects/ab/" + orphan + ".tmp"))
            do {
                let database = try StateStore(directory: directory + "/state")
                try SQLiteLocalTables(store: database).journalBlob(orphan)
                try database.close()
            }

            let (second, secondStore) = try open()
            defer { try? secondStore.close() }
            #expect(regularFiles(under: root + "/objects").count == 1)
            let got = try await second.objects.get(GetObjectRequest(key: "kept", destination: .memory(limit: 10)), progress: .none)
            #expect(got.data == [1])
        }
    }
}
