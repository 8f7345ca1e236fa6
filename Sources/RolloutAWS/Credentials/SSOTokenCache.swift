import AWSConfig
import Glibc
import RolloutCore
import RolloutCrypto
import RolloutSystem

/// The token cache `aws sso login` writes and botocore's `SSOTokenLoader` reads:
/// `~/.aws/sso/cache/<sha1 hex of the key>.json`, where the key is the `sso-session` name, or
/// the start URL for a legacy profile. A JSON object with `accessToken`, `expiresAt` and, for
/// sessions, `refreshToken`, `clientId`, `clientSecret` and `registrationExpiresAt`.
///
/// Reads and writes run on ``CredentialIO``. A write replaces the file atomically (a temporary
/// file in the same directory, mode 0600, `fsync`ed, then renamed over it), as botocore's
/// `JSONFileCache` does, so `aws sso login` and other readers never see half a file.
struct SSOTokenCache: Sendable {
    /// `~/.aws/sso/cache`.
    let directory: String

    /// The cache under `home`.
    init(home: String) {
        var base = Substring(home)
        while base.hasSuffix("/") { base = base.dropLast() }
        directory = base + "/.aws/sso/cache"
    }

    /// The cache of the user `environment` belongs to: under `$HOME`, else under this process's
    /// user's home from the password database (what Python's `expanduser` does), looked up off
    /// the cooperative pool (NSS may ask a directory service).
    static func forUser(environment: [String: String]) async -> SSOTokenCache {
        if let home = environment["HOME"], !home.isEmpty { return SSOTokenCache(home: home) }
        return SSOTokenCache(home: await CredentialIO.shared.run { _ in passwordDatabaseHome() } ?? "/")
    }

    /// The file that holds `key`'s token.
    func path(for key: String) -> String {
        directory + "/" + Digest.hash(.sha1, Array(key.utf8)).hexString + ".json"
    }

    /// The cached object for `key`; nil when there is no such file or it is not a JSON object
    /// (botocore treats both as "does not exist").
    func load(_ key: String) async -> JSONObject? {
        let path = self.path(for: key)
        let bytes = await CredentialIO.shared.run { _ in RegularFile.contents(atPath: path) }
        return bytes.flatMap { try? JSONParser.parse($0) }?.objectValue
    }

    /// Replaces `key`'s file with `object`.
    func save(_ object: JSONObject, for key: String) async throws(RolloutError) {
        let path = self.path(for: key)
        let directory = self.directory
        let bytes = JSONValue.object(object).serialized()
        do {
            try await CredentialIO.shared.run { _ throws(SystemError) in
                try Self.replace(path, in: directory, with: bytes)
            }
        } catch {
            throw RolloutError(.unavailable, "cannot update the IAM Identity Center token cache: \(error)")
        }
    }

    // MARK: Internals

    private static func replace(_ path: String, in directory: String, with bytes: [UInt8]) throws(SystemError) {
        let temporary = directory + "/.rolloutd-\(String(UInt64.random(in: 0...UInt64.max), radix: 16)).tmp"
        let file = try FileDescriptor(path: temporary, flags: O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode: 0o600)
        do throws(SystemError) {
            try bytes.withUnsafeBytes { buffer in Result { () throws(SystemError) in try file.write(buffer) } }.get()
            try file.sync()
            try Directories.rename(temporary, onto: path)
        } catch {
            try? Directories.removeFile(temporary)
            throw error
        }
    }

    private static func passwordDatabaseHome() -> String? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(getuid(), &entry, &buffer, buffer.count, &result) == 0, result != nil, let directory = entry.pw_dir else {
            return nil
        }
        return String(cString: directory)
    }
}
