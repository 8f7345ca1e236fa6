import Foundation
import Glibc
import RolloutSystem
import Testing

@Suite("Directories: mkdir -p, remove, rename, exists on the daemon's own paths")
struct DirectoriesTests {
    @Test("make creates missing parents with the mode, accepts existing ones, and names the component that fails")
    func make() throws {
        let base = NSTemporaryDirectory() + "rollout-dirs-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: base) }
        try Directories.make(base + "/a/b/c", mode: 0o700)
        try Directories.make(base + "/a/b/c", mode: 0o700)
        try Directories.make(base + "/a/b/d")
        var info = stat()
        #expect(stat(base + "/a/b/c", &info) == 0 && info.st_mode & S_IFMT == S_IFDIR)
        #expect(info.st_mode & 0o777 == 0o700)

        #expect(FileManager.default.createFile(atPath: base + "/file", contents: Data()))
        do {
            try Directories.make(base + "/file/sub")
            Issue.record("expected a SystemError")
        } catch {
            #expect(error.code == ENOTDIR)
            #expect(error.path == base + "/file/sub")
        }
    }

    @Test("removeFile ignores a missing file; rename replaces; exists and status see the result")
    func files() throws {
        let base = NSTemporaryDirectory() + "rollout-files-" + UUID().uuidString
        try Directories.make(base)
        defer { try? FileManager.default.removeItem(atPath: base) }
        #expect(FileManager.default.createFile(atPath: base + "/one", contents: Data("1".utf8)))
        #expect(FileManager.default.createFile(atPath: base + "/two", contents: Data("2".utf8)))
        try Directories.rename(base + "/one", onto: base + "/two")
        #expect(!Directories.exists(base + "/one"))
        #expect(FileManager.default.contents(atPath: base + "/two") == Data("1".utf8))
        try Directories.sync(base)
        #expect(try Directories.status(base + "/two").st_size == 1)
        #expect(throws: SystemError.self) { try Directories.status(base + "/one") }
        try Directories.removeFile(base + "/two")
        try Directories.removeFile(base + "/two")
        #expect(!Directories.exists(base + "/two"))
        #expect(throws: SystemError.self) { try Directories.rename(base + "/missing", onto: base + "/other") }
    }
}
