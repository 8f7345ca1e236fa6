public import RolloutCore
import Glibc
import RolloutSystem
import RolloutCrypto
import RolloutTOML
import Synchronization

/// The `local` provider's SecretStore (SPEC §5): string secrets from `root/secrets.toml`
/// (`name = "value"`, quoted keys such as `"demo/token" = "s3cr3t"` included), behind the same
/// byte-exact allowlist as AWS (`[cloud.local].secrets_allowlist`).
///
/// The file is parsed when it changes, never per call: every call `stat`s it (on a
/// ``BlockingIO`` thread) and compares device, inode, size and change times with the version
/// parsed last, so an edit or a rename over the file (rotation) is served on the next call
/// without a restart. A file modified less than two seconds before it was read is read again,
/// and compared by digest, until it has been quiet that long: file times come from a coarse
/// clock, and a same-size rewrite within one tick changes nothing `stat` shows.
///
/// A new version that cannot be used (invalid TOML, not UTF-8, too large, unreadable) does not
/// replace the last good one: its values are still served, marked `stale`, and
/// ``healthProblem()`` says why. Only `AWSCURRENT` exists; the version id is derived from the
/// value. No message ever contains a value.
public final class LocalSecretStore: SecretStore {
    private let allowlist: SecretAllowlist
    private let path: String
    private let io: BlockingIO
    private let racyInterval: Duration
    private let state = Mutex(State())

    /// The largest secrets file read.
    private static let maxFileBytes = 1 << 20
    /// The only version stage the local provider keeps.
    private static let currentStage = "AWSCURRENT"

    /// A store for the file at `path`. For `racyInterval` after a modification, `stat` is not
    /// trusted to reveal the next one (file times are coarse: a same-size rewrite within one
    /// clock tick leaves them unchanged), so the file is read again and compared by digest.
    init(path: String, allowlist: [String], io: BlockingIO, racyInterval: Duration = .seconds(2)) {
        self.path = path
        self.allowlist = SecretAllowlist(allowlist, configKey: "[cloud.local].secrets_allowlist")
        self.io = io
        self.racyInterval = racyInterval
    }

    /// Returns the secret `name`. ConfigInvalid unless `name` is allowlisted byte for byte
    /// (checked before the file is touched); NotFound for other stages, a missing file or a
    /// missing name. `refresh: true` reads the file even when `stat` shows no change.
    public func get(name: String, versionStage: String, refresh: Bool) async throws -> SecretValue {
        try allowlist.check(name)
        guard versionStage.utf8.elementsEqual(Self.currentStage.utf8) else {
            throw RolloutError.notFound(
                "secret \"\(name)\" has no version stage \"\(versionStage)\": the local provider keeps only \(Self.currentStage)"
            )
        }
        let view = await io.run { _ in self.examine(force: refresh) }
        return try view.secret(name, path: path)
    }

    /// Why the file as it is now cannot be served, with what is served instead; nil when it
    /// can (or does not exist). Looks at the file first, so an edit shows up here at once.
    public func healthProblem() async -> String? {
        let view = await io.run { _ in self.examine(force: false) }
        guard let problem = view.problem else { return nil }
        guard let loaded = view.loaded else {
            return "\(problem); no secrets are served until it is fixed"
        }
        let age = ContinuousClock.now - loaded.at
        return "\(problem); still serving the last good version, loaded \(age.components.seconds) s ago"
    }

    // MARK: State

    /// What `stat` shows of a version of the file.
    struct FileIdentity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var modified: Timestamp
        var changed: Timestamp

        /// A file time, `st_mtim` or `st_ctim`.
        struct Timestamp: Equatable, Comparable {
            var seconds: Int
            var nanoseconds: Int

            static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
                (lhs.seconds, lhs.nanoseconds) < (rhs.seconds, rhs.nanoseconds)
            }
        }

        init(_ info: stat) {
            device = UInt64(info.st_dev)
            inode = UInt64(info.st_ino)
            size = Int64(info.st_size)
            modified = Timestamp(seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec)
            changed = Timestamp(seconds: info.st_ctim.tv_sec, nanoseconds: info.st_ctim.tv_nsec)
        }
    }

    /// The last good version: the allowlisted names it defines.
    struct Loaded: Sendable {
        enum Entry: Sendable {
            case value(String, versionId: String)
            /// Defined, but not as a string (the TOML type's name).
            case notString(String)
        }

        var entries: [ByteExactString: Entry]
        /// When it was parsed.
        var at: ContinuousClock.Instant
    }

    private struct State {
        /// The last good version; nil before one was read, or once the file is gone.
        var loaded: Loaded?
        /// Why the file as last examined cannot be served; nil when it can.
        var problem: RolloutError?
        /// Whether the file was missing when last examined.
        var missing = false
        /// The file as last read, and the SHA-256 of its bytes.
        var examined: (identity: FileIdentity, digest: [UInt8])?
        /// Whether that read came too soon after a modification to trust `stat` to show the next.
        var racy = false
        /// Reads and parses, for tests.
        var reads = 0
        var parses = 0
    }

    /// What one call needs to know.
    struct View: Sendable {
        var loaded: Loaded?
        var problem: RolloutError?
        var missing: Bool

        /// The secret `name`, from the last good version (stale while the file is unusable).
        func secret(_ name: String, path: String) throws(RolloutError) -> SecretValue {
            if missing {
                throw .notFound("secret \"\(name)\" is not defined: \(path) does not exist")
            }
            guard let loaded else {
                throw problem ?? .notFound("secret \"\(name)\" is not defined in \(path)")
            }
            switch loaded.entries[ByteExactString(name)] {
            case .value(let value, let versionId):
                let stale = problem != nil
                return SecretValue(
                    name: name, value: value, binary: nil, versionId: versionId, versionStages: [LocalSecretStore.currentStage],
                    cached: stale, ageMs: stale ? SecretValue.milliseconds(ContinuousClock.now - loaded.at) : 0, stale: stale
                )
            case .notString(let type):
                throw RolloutError(.configInvalid, "\(path): secret \"\(name)\" must be a string (got \(type))")
            case nil:
                // Not in the last good version; if the file changed since, say why it was not read.
                throw problem ?? .notFound("secret \"\(name)\" is not defined in \(path)")
            }
        }
    }

    /// Reads and parses done so far (tests check that cached calls do neither).
    var fileActivity: (reads: Int, parses: Int) {
        state.withLock { ($0.reads, $0.parses) }
    }

    // MARK: Examining the file (blocking; on a BlockingIO thread)

    /// Brings the state up to date with the file (reading it only when `stat` shows a change,
    /// the last read was racy, or `force`) and returns it.
    private func examine(force: Bool) -> View {
        state.withLock { state in
            update(&state, force: force)
            return View(loaded: state.loaded, problem: state.problem, missing: state.missing)
        }
    }

    private func update(_ state: inout State, force: Bool) {
        let info: stat
        do {
            info = try Directories.status(path)
        } catch {
            if error.code == ENOENT || error.code == ENOTDIR {
                state.loaded = nil
                state.problem = nil
                state.examined = nil
                state.missing = true
            } else {
                // Read again once stat works: the problem is the stat's, not the content's.
                state.problem = RolloutError(.configInvalid, error.description)
                state.examined = nil
                state.missing = false
            }
            return
        }
        if !force, !state.racy, let examined = state.examined, examined.identity == FileIdentity(info) {
            return
        }
        state.reads += 1
        state.missing = false
        let identity: FileIdentity
        let bytes: [UInt8]
        do throws(RolloutError) {
            (identity, bytes) = try read()
        } catch {
            state.problem = error
            state.examined = nil
            return
        }
        state.racy = isRacy(identity)
        let digest = Digest.sha256(bytes)
        if let examined = state.examined, examined.digest == digest {
            state.examined = (identity, digest)
            return
        }
        state.examined = (identity, digest)
        state.parses += 1
        do throws(RolloutError) {
            state.loaded = Loaded(entries: try parse(bytes), at: .now)
            state.problem = nil
        } catch {
            state.problem = error
        }
    }

    /// The file's identity (from the descriptor read) and bytes.
    private func read() throws(RolloutError) -> (FileIdentity, [UInt8]) {
        let info: stat
        let contents: [UInt8]?
        do throws(SystemError) {
            // O_NONBLOCK: a FIFO put in the file's place must not hang the open.
            let file = try FileDescriptor(path: path, flags: O_RDONLY | O_NONBLOCK)
            info = try file.status()
            contents = info.st_mode & S_IFMT == S_IFREG ? try file.readToEnd(maxBytes: Self.maxFileBytes) : []
        } catch {
            throw RolloutError(.configInvalid, error.description)
        }
        guard info.st_mode & S_IFMT == S_IFREG else {
            throw RolloutError(.configInvalid, "\(path) is not a regular file")
        }
        guard let contents else {
            throw RolloutError(.configInvalid, "\(path) is larger than \(Self.maxFileBytes) bytes")
        }
        return (FileIdentity(info), contents)
    }

    /// The allowlisted names `bytes` define. Only those are looked up (TOMLTable compares keys
    /// byte for byte), so no other secret's value is kept once the file is parsed.
    private func parse(_ bytes: [UInt8]) throws(RolloutError) -> [ByteExactString: Loaded.Entry] {
        guard !bytes.contains(0), let text = String(validating: bytes, as: UTF8.self) else {
            throw RolloutError(.configInvalid, "\(path) is not UTF-8 text")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(parsing: text)
        } catch {
            // The position only: a value's text must never reach a message.
            throw RolloutError(.configInvalid, "\(path) line \(error.line), column \(error.column): invalid TOML")
        }
        var entries: [ByteExactString: Loaded.Entry] = [:]
        for name in allowlist.names {
            guard let entry = table[name.string] else { continue }
            if let value = entry.string {
                entries[name] = .value(value, versionId: String(Digest.sha256(value).hexString.prefix(32)))
            } else {
                entries[name] = .notString(entry.typeName)
            }
        }
        return entries
    }

    /// Whether `identity` was modified less than `racyInterval` ago (or in the future).
    private func isRacy(_ identity: FileIdentity) -> Bool {
        let latest = max(identity.modified, identity.changed)
        let since = WallClock.sinceEpoch() - .seconds(latest.seconds) - .nanoseconds(latest.nanoseconds)
        return since < racyInterval
    }
}
