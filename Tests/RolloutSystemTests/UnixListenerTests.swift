import Foundation
import Glibc
@testable import RolloutSystem
import Synchronization
import Testing

@Suite("UnixListener: the socket is born with its mode, and the umask is left alone when it can be")
struct UnixListenerTests {
    static func temporaryDirectory() -> String {
        NSTemporaryDirectory() + "rollout-listener-" + String(UUID().uuidString.prefix(8))
    }

    /// The file's type and permission bits.
    static func mode(of path: String) -> mode_t? {
        var info = stat()
        return lstat(path, &info) == 0 ? info.st_mode : nil
    }

    @Test("currentUmask reads the umask without changing it")
    func readsTheUmask() throws {
        let read = try #require(UnixListener.currentUmask())
        // umask() can only be read by setting it: set it back at once to what /proc showed.
        let actual = umask(read)
        #expect(actual == read)
    }

    /// On the old code every `bind` set the process's umask to ~mode for its duration, and a
    /// directory another thread made then got the socket's mask (a 0700 directory became 0600).
    @Test("binding a socket whose mode the umask does not narrow never changes the umask")
    func umaskUntouched() async throws {
        let original = try #require(UnixListener.currentUmask())
        try #require(original & 0o600 == 0, "this test needs a umask that leaves 0600 alone (it is \(String(original, radix: 8)))")
        let directory = Self.temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let seen = try await systemTestOffPool { () throws -> (others: Set<mode_t>, modes: Set<mode_t>) in
            let stop = Atomic(false)
            let others = Mutex(Set<mode_t>())
            // Watches the umask through /proc while the other thread binds: each read takes
            // microseconds, and the old code's window around bind was hit within a few binds.
            let watcher = Thread {
                while !stop.load(ordering: .relaxed) {
                    if let now = UnixListener.currentUmask(), now != original { others.withLock { _ = $0.insert(now) } }
                }
            }
            watcher.start()
            defer { stop.store(true, ordering: .relaxed) }
            var modes = Set<mode_t>()
            for index in 0..<300 {
                let path = directory + "/s\(index % 4).sock"
                let listener = try UnixListener.bind(path: path, mode: 0o600)
                if let mode = Self.mode(of: path) { modes.insert(mode) }
                close(listener.descriptor)
                listener.removeFiles()
            }
            return (others.withLock { $0 }, modes)
        }
        #expect(seen.others.isEmpty, "the umask was changed to \(seen.others.map { String($0, radix: 8) })")
        #expect(seen.modes == [S_IFSOCK | 0o600])
    }

    /// A mode the umask would narrow (0660 under 022) still comes out exact: then the umask is
    /// lowered around `bind`. A umask of 0 (a careless service manager) must not leave the file
    /// wider than asked either. In a child process, since the umask is the whole process's.
    @Test("the socket's mode is exact whatever the umask: 022, 0 or 077")
    func widerThanTheUmask() async throws {
        await #expect(processExitsWith: .success) {
            let directory = UnixListenerTests.temporaryDirectory()
            defer { try? FileManager.default.removeItem(atPath: directory) }
            for mask: mode_t in [0o022, 0o000, 0o077] {
                umask(mask)
                for mode: mode_t in [0o660, 0o666, 0o600, 0o700] {
                    let path = directory + "/wide.sock"
                    let listener = try UnixListener.bind(path: path, mode: UInt32(mode))
                    guard UnixListenerTests.mode(of: path) == S_IFSOCK | mode else { exit(2) }
                    guard UnixListener.currentUmask() == mask else { exit(3) }
                    close(listener.descriptor)
                    listener.removeFiles()
                }
            }
        }
    }
}
