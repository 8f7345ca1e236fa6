import Dispatch
import Foundation
import Glibc
import RolloutCore
import RolloutLocal
import RolloutStore
import Synchronization
import Testing

/// Runs `body` with a fresh directory from `mkdtemp`, removed afterwards.
func withTemporaryDirectory<Result>(_ body: (String) async throws -> Result) async throws -> Result {
    var template = Array("\(FileManager.default.temporaryDirectory.path)/rollout-local-XXXXXX".utf8CString)
    let created = template.withUnsafeMutableBufferPointer { buffer in
        buffer.baseAddress.flatMap { mkdtemp($0) }.map { String(cString: $0) }
    }
    let path = try #require(created, "mkdtemp failed")
    defer { try? FileManager.default.removeItem(atPath: path) }
    return try await body(path)
}

/// Runs `body` with a provider rooted in a fresh temp directory (`root` is `<dir>/root`), and
/// the temp directory itself for scratch files. Its state database lives in a second temp
/// directory.
func withProvider<Result>(
    chunkBytes: Int = 16 << 20, maxObjectBytes: Int64 = 1 << 30, allowlist: [String] = [], visibility: Int = 30,
    _ body: (LocalProvider, _ directory: String) async throws -> Result
) async throws -> Result {
    try await withProviderAndStore(
        chunkBytes: chunkBytes, maxObjectBytes: maxObjectBytes, allowlist: allowlist, visibility: visibility
    ) { provider, _, directory in
        try await body(provider, directory)
    }
}

/// ``withProvider(chunkBytes:maxObjectBytes:allowlist:visibility:_:)`` that also hands `body`
/// the provider's state database.
func withProviderAndStore<Result>(
    chunkBytes: Int = 16 << 20, maxObjectBytes: Int64 = 1 << 30, allowlist: [String] = [], visibility: Int = 30,
    _ body: (LocalProvider, StateStore, _ directory: String) async throws -> Result
) async throws -> Result {
    try await withTemporaryDirectory { stateDirectory in
        try await withTemporaryDirectory { directory in
            let store = try StateStore(directory: stateDirectory)
            defer { try? store.close() }
            let provider = try LocalProvider(
                root: directory + "/root", tables: SQLiteLocalTables(store: store), secretsAllowlist: allowlist, visibilityTimeoutSecs: visibility,
                multipartChunkBytes: chunkBytes, maxObjectBytes: maxObjectBytes
            )
            return try await body(provider, store, directory)
        }
    }
}

/// Expects `body` to throw a RolloutError with `code` whose message contains each of `fragments`.
func expectError(
    _ code: ErrorCode, containing fragments: [String] = [], sourceLocation: SourceLocation = #_sourceLocation,
    _ body: () async throws -> Void
) async {
    let error = await #expect(throws: RolloutError.self, sourceLocation: sourceLocation) { try await body() }
    guard let error else { return }
    #expect(error.code == code, "\(error)", sourceLocation: sourceLocation)
    for fragment in fragments {
        #expect(error.message.contains(fragment), "\(error.message)", sourceLocation: sourceLocation)
    }
}

/// Regular files below `directory`, as paths relative to it.
func regularFiles(under directory: String) -> [String] {
    (FileManager.default.subpaths(atPath: directory) ?? []).filter { path in
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: directory + "/" + path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }.sorted()
}

/// `count` bytes of a repeating, non-trivial pattern.
func patternBytes(_ count: Int) -> [UInt8] {
    // Through a raw pointer: tests are built unoptimised, and `map` over 4 MiB held a
    // cooperative-pool thread for most of a second.
    [UInt8](unsafeUninitializedCapacity: count) { buffer, initialized in
        guard let base = buffer.baseAddress else { return }
        for index in 0..<count {
            base[index] = UInt8(truncatingIfNeeded: (index &* 31) ^ (index >> 9))
        }
        initialized = count
    }
}

/// RFC 3339 UTC with milliseconds: `2026-11-22T19:15:45.123Z`.
func isRFC3339Milliseconds(_ text: String) -> Bool {
    text.wholeMatch(of: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z/) != nil
}

/// A progress reporter whose first report parks the transfer (on its I/O thread) until
/// ``release()``, so a test can cancel a transfer mid-way however fast the disk is.
final class ParkingProgress: Sendable {
    private let resume = DispatchSemaphore(value: 0)
    private let parked: AsyncStream<Void>
    private let parkedSignal: AsyncStream<Void>.Continuation
    private let first = Mutex(true)

    init() {
        (parked, parkedSignal) = AsyncStream.makeStream(of: Void.self)
    }

    /// The reporter to hand to the transfer.
    var reporter: ProgressReporter {
        ProgressReporter { [self] _, _ in
            guard first.withLock({ first in defer { first = false }; return first }) else { return }
            parkedSignal.yield()
            resume.wait()
        }
    }

    /// Returns once the transfer is parked in its first report.
    func waitUntilParked() async {
        for await _ in parked { return }
    }

    /// Lets the transfer go on.
    func release() {
        resume.signal()
    }
}
