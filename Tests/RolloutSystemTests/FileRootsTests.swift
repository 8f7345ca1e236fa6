import Foundation
import Glibc
@testable import RolloutSystem
import Synchronization
import Testing

/// A scratch tree: `base/root` is the file root, `base/outside` holds a secret file.
private struct Scratch {
    let base: String
    var root: String { base + "/root" }
    var outside: String { base + "/outside" }

    init() throws {
        base = NSTemporaryDirectory() + "rollout-roots-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: base + "/root/sub", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: base + "/outside", withIntermediateDirectories: true)
        try Data("secret".utf8).write(to: URL(fileURLWithPath: base + "/outside/secret"))
        try Data("inside".utf8).write(to: URL(fileURLWithPath: base + "/root/sub/file"))
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: base)
    }

    func contents(_ file: ReadableFile) throws -> String {
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = try buffer.withUnsafeMutableBytes { try file.read(into: $0, at: 0) }
        return String(decoding: buffer[0..<count], as: UTF8.self)
    }
}

private func expectAccess(_ kind: FileAccessError.Kind, sourceLocation: SourceLocation = #_sourceLocation, _ body: () throws -> Void) {
    do {
        try body()
        Issue.record("expected a FileAccessError", sourceLocation: sourceLocation)
    } catch let error as FileAccessError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("unexpected \(error)", sourceLocation: sourceLocation)
    }
}

@Suite("FileRoots: client paths opened beneath a root descriptor")
struct FileRootsTests {
    @Test("files inside a root open, by absolute and by relative path")
    func inside() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root], workingDirectory: scratch.base)
        #expect(try scratch.contents(roots.openForReading(scratch.root + "/sub/file")) == "inside")
        #expect(try scratch.contents(roots.openForReading("root/sub/./file")) == "inside")
        #expect(try roots.openForReading(scratch.root + "/sub/file").size == 6)
    }

    @Test("paths outside every root, '..' escapes and symlinks pointing out are denied (openat2 and the walk)", arguments: [false, true])
    func escapes(walkOnly: Bool) throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root], workingDirectory: "/", walkOnly: walkOnly)
        #expect(symlink(scratch.outside, scratch.root + "/escape") == 0)
        #expect(symlink(scratch.outside + "/secret", scratch.root + "/secret-link") == 0)
        #expect(symlink("/dev/zero", scratch.root + "/zero") == 0)
        #expect(symlink("/proc/self/root/etc/hostname", scratch.root + "/magic") == 0)
        expectAccess(.denied) { _ = try roots.openForReading(scratch.outside + "/secret") }
        expectAccess(.denied) { _ = try roots.openForReading(scratch.root + "/../outside/secret") }
        expectAccess(.denied) { _ = try roots.openForReading(scratch.root + "/escape/secret") }
        expectAccess(.denied) { _ = try roots.openForReading(scratch.root + "/secret-link") }
        expectAccess(.denied) { _ = try roots.openForReading(scratch.root + "/zero") }
        expectAccess(.denied) { _ = try roots.openForReading(scratch.root + "/magic") }
        expectAccess(.denied) { _ = try roots.openTarget(scratch.root + "/escape/planted") }
        expectAccess(.denied) { _ = try roots.openTarget(scratch.root + "/../outside/planted") }
        #expect(access(scratch.outside + "/planted", F_OK) != 0)
    }

    @Test("a symlink that stays inside the root is followed")
    func innerSymlink() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root])
        #expect(symlink("sub/file", scratch.root + "/latest") == 0)
        #expect(try scratch.contents(roots.openForReading(scratch.root + "/latest")) == "inside")
    }

    @Test("a FIFO, a directory, a socket or a missing file is refused at once; opening never blocks")
    func notRegular() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root])
        #expect(mkfifo(scratch.root + "/fifo", 0o600) == 0)
        expectAccess(.invalid) { _ = try roots.openForReading(scratch.root + "/fifo") }
        expectAccess(.invalid) { _ = try roots.openForReading(scratch.root + "/sub") }
        expectAccess(.invalid) { _ = try roots.openForReading(scratch.root) }
        expectAccess(.notFound) { _ = try roots.openForReading(scratch.root + "/absent") }
        expectAccess(.invalid) { _ = try roots.openForReading("") }
        expectAccess(.invalid) { _ = try roots.openForReading(scratch.root + "/sub/file\u{0}x") }
        expectAccess(.invalid) { _ = try roots.openTarget(scratch.root + "/sub") }
        expectAccess(.notFound) { _ = try roots.openTarget(scratch.root + "/missing/dir/x") }
    }

    @Test("a temp file is created beside the target, committed by renameat, and removed when dropped")
    func temporaryFiles() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root])
        let target = try roots.openTarget(scratch.root + "/sub/out.bin")
        let temporary = try target.createTemporary()
        try Array("hello".utf8).withUnsafeBytes { try temporary.file.write($0, at: 0) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.root + "/sub").filter { $0.hasSuffix(".tmp") }.count == 1)
        try temporary.commit()
        #expect(try String(contentsOfFile: scratch.root + "/sub/out.bin", encoding: .utf8) == "hello")
        do {
            let dropped = try target.createTemporary()
            try Array("partial".utf8).withUnsafeBytes { try dropped.file.write($0, at: 0) }
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.root + "/sub").sorted() == ["file", "out.bin"])
    }

    @Test("the target's directory is held: swapping it for a symlink afterwards writes nothing outside")
    func heldDirectory() throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root])
        let target = try roots.openTarget(scratch.root + "/sub/out.bin")
        #expect(rename(scratch.root + "/sub", scratch.root + "/moved") == 0)
        #expect(symlink(scratch.outside, scratch.root + "/sub") == 0)
        let temporary = try target.createTemporary()
        try temporary.commit()
        #expect(access(scratch.outside + "/out.bin", F_OK) != 0)
        #expect(access(scratch.root + "/moved/out.bin", F_OK) == 0)
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.outside) == ["secret"])
    }

    @Test("racing symlink and directory swaps never open or create anything outside the root (openat2 and the walk)", arguments: [false, true])
    func swapRace(walkOnly: Bool) async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let roots = try FileRoots([scratch.root], workingDirectory: "/", walkOnly: walkOnly)
        try FileManager.default.createDirectory(atPath: scratch.root + "/real", withIntermediateDirectories: true)
        try Data("inside".utf8).write(to: URL(fileURLWithPath: scratch.root + "/real/secret"))
        let stop = Atomic(false)
        // The race runs on a dispatch thread: a second of busy work on the cooperative pool
        // would stall the timers of every test running beside this one.
        let (attempts, opened, leaked) = try await systemTestOffPool { () throws -> (Int, Int, Int) in
            let swapper = Thread {
                // Alternates root/d between a real directory and a symlink to outside.
                while !stop.load(ordering: .relaxed) {
                    rename(scratch.root + "/real", scratch.root + "/d")
                    rename(scratch.root + "/d", scratch.root + "/real")
                    symlink(scratch.outside, scratch.root + "/d")
                    unlink(scratch.root + "/d")
                }
            }
            swapper.start()
            var opened = 0
            var leaked = 0
            let deadline = ContinuousClock.now + .seconds(1)
            var attempts = 0
            while ContinuousClock.now < deadline {
                attempts += 1
                if let file = try? roots.openForReading(scratch.root + "/d/secret") {
                    opened += 1
                    if try scratch.contents(file) != "inside" { leaked += 1 }
                }
                if let target = try? roots.openTarget(scratch.root + "/d/planted"), let temporary = try? target.createTemporary() {
                    try? temporary.commit()
                }
            }
            stop.store(true, ordering: .relaxed)
            while !swapper.isFinished { usleep(1000) }
            return (attempts, opened, leaked)
        }
        #expect(attempts > 100)
        #expect(leaked == 0, "\(leaked) of \(opened) opens read the outside file")
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.outside) == ["secret"])
    }
}
