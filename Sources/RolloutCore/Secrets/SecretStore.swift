/// A secret as `secret.get` returns it.
public struct SecretValue: Sendable, Hashable, Codable {
    /// The name asked for.
    public var name: String
    /// The string value, for string secrets.
    public var value: String?
    /// Base64 of the binary value, for binary secrets.
    public var binary: String?
    /// The version returned.
    public var versionId: String
    /// Stages attached to that version (`AWSCURRENT`, ...).
    public var versionStages: [String]
    /// Whether it came from the daemon's cache.
    public var cached: Bool
    /// Age of the value in milliseconds since it was fetched.
    public var ageMs: Int64
    /// True when a refresh failed recoverably and this is the last good value.
    public var stale: Bool

    /// Creates a value.
    public init(
        name: String, value: String?, binary: String?, versionId: String, versionStages: [String], cached: Bool,
        ageMs: Int64, stale: Bool
    ) {
        self.name = name
        self.value = value
        self.binary = binary
        self.versionId = versionId
        self.versionStages = versionStages
        self.cached = cached
        self.ageMs = ageMs
        self.stale = stale
    }

    /// `age` as ``ageMs``: whole milliseconds, never negative.
    public static func milliseconds(_ age: Duration) -> Int64 {
        let parts = age.components
        return max(0, parts.seconds * 1000 + parts.attoseconds / 1_000_000_000_000_000)
    }
}

/// The read-only SecretStore capability. Implementations check their allowlist before any
/// upstream call.
public protocol SecretStore: Sendable {
    /// Returns the secret `name` at `versionStage`, bypassing the cache when `refresh`.
    func get(name: String, versionStage: String, refresh: Bool) async throws -> SecretValue

    /// A problem the store lives with while it keeps serving, for `sys.health` (for example a
    /// secrets file that became invalid while its last good values are still served); nil
    /// when there is none. Never contains a secret value.
    func healthProblem() async -> String?
}

extension SecretStore {
    /// No standing problem: failures show up on the calls that meet them.
    public func healthProblem() async -> String? { nil }
}

/// The exact-match allowlist shared by every SecretStore.
///
/// Names are compared as UTF-8 bytes (``ByteExactString``): no Unicode normalisation and no
/// case folding, so `"prod/API_\u{212A}EY"` (KELVIN SIGN), `"caf\u{E9}"` against
/// `"cafe\u{301}"`, fullwidth letters, case and whitespace variants never match a listed name.
public struct SecretAllowlist: Sendable, Hashable {
    /// Names served, compared byte for byte.
    public let names: Set<ByteExactString>
    /// The config key users must edit, named in the error (`[cloud.aws.secrets].allowlist`).
    public let configKey: String

    /// Creates an allowlist.
    public init(_ names: [String], configKey: String) {
        self.names = Set(names.map(ByteExactString.init))
        self.configKey = configKey
    }

    /// Whether `name` is listed, byte for byte.
    public func contains(_ name: String) -> Bool {
        names.contains(ByteExactString(name))
    }

    /// Throws ConfigInvalid unless `name` is listed exactly. The message shows the name with
    /// everything outside printable ASCII escaped, so a look-alike reads differently.
    public func check(_ name: String) throws(RolloutError) {
        guard contains(name) else {
            throw RolloutError(
                .configInvalid,
                "secret \(ByteExactString(name).escapedDescription) is not in the allowlist (names are compared byte for byte); add it to \(configKey) to serve it"
            )
        }
    }
}
