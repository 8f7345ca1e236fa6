public import RolloutCore
import Glibc
import RolloutSystem
import RolloutCrypto
import TOMLKit

/// The `local` provider's SecretStore (SPEC §5): string secrets from `root/secrets.toml`
/// (`name = "value"`, quoted keys such as `"demo/token" = "s3cr3t"` included), behind the same
/// exact-match allowlist as AWS (`[cloud.local].secrets_allowlist`).
///
/// The file is read on every call, on a ``BlockingIO`` thread, so edits show up at once. Only
/// `AWSCURRENT` exists; the version id is derived from the value. No message ever contains a
/// value.
public final class LocalSecretStore: SecretStore {
    private let allowlist: SecretAllowlist
    private let path: String
    private let io: BlockingIO

    /// The largest secrets file read.
    private static let maxFileBytes = 1 << 20
    /// The only version stage the local provider keeps.
    private static let currentStage = "AWSCURRENT"

    init(path: String, allowlist: [String], io: BlockingIO) {
        self.path = path
        self.allowlist = SecretAllowlist(allowlist, configKey: "[cloud.local].secrets_allowlist")
        self.io = io
    }

    /// Returns the secret `name`. ConfigInvalid unless `name` is allowlisted (checked before
    /// the file is touched); NotFound for other stages, a missing file or a missing name.
    /// `refresh` changes nothing: the file is always read afresh.
    public func get(name: String, versionStage: String, refresh: Bool) async throws -> SecretValue {
        try allowlist.check(name)
        guard versionStage == Self.currentStage else {
            throw RolloutError.notFound(
                "secret \"\(name)\" has no version stage \"\(versionStage)\": the local provider keeps only \(Self.currentStage)"
            )
        }
        let path = path
        let value = try await io.run { _ in try Self.lookUp(name, inFile: path) }
        return SecretValue(
            name: name, value: value, binary: nil, versionId: String(Digest.sha256(value).hexString.prefix(32)),
            versionStages: [Self.currentStage], cached: false, ageMs: 0, stale: false
        )
    }

    private static func lookUp(_ name: String, inFile path: String) throws(RolloutError) -> String {
        let text = try read(path, secret: name)
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            // The parser's own description can quote the offending text, which may be a value.
            throw RolloutError(
                .configInvalid,
                "\(path) line \(error.source.begin.line), column \(error.source.begin.column): invalid TOML"
            )
        } catch {
            throw RolloutError(.configInvalid, "\(path): invalid TOML")
        }
        guard let entry = table[name] else {
            throw .notFound("secret \"\(name)\" is not defined in \(path)")
        }
        guard let value = entry.string else {
            throw RolloutError(.configInvalid, "\(path): secret \"\(name)\" must be a string (got \(entry.type))")
        }
        return value
    }

    /// The file's text; NotFound naming the secret when the file does not exist.
    private static func read(_ path: String, secret name: String) throws(RolloutError) -> String {
        let contents: [UInt8]?
        do throws(SystemError) {
            contents = try FileDescriptor(path: path, flags: O_RDONLY).readToEnd(maxBytes: maxFileBytes)
        } catch let error where error.code == ENOENT {
            throw .notFound("secret \"\(name)\" is not defined: \(path) does not exist")
        } catch {
            throw RolloutError(.configInvalid, error.description)
        }
        guard let contents else {
            throw RolloutError(.configInvalid, "\(path) is larger than \(maxFileBytes) bytes")
        }
        guard !contents.contains(0), let text = String(validating: contents, as: UTF8.self) else {
            throw RolloutError(.configInvalid, "\(path) is not UTF-8 text")
        }
        return text
    }
}
