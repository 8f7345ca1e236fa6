/// One value in a shared config section: a string, or the `k = v` lines indented under
/// `key =` (one level of nesting, as botocore supports).
public enum SharedConfigValue: Sendable, Hashable {
    /// `key = value`, kept exactly as botocore keeps it (trimmed, no inline comments removed).
    case string(String)
    /// `key =` followed by indented `k = v` lines; the inner keys keep their case.
    case subsection([String: String])
}

/// The keys of one profile, `[services NAME]`, `[sso-session NAME]` or other section.
///
/// Keys are lower-cased when parsed, as botocore does (`Region = x` is `region`); keys inside
/// a sub-section keep their case. `description` lists the keys only: profiles hold secret keys.
public struct SharedConfigSection: Sendable, Hashable {
    /// The keys and their values.
    public var values: [String: SharedConfigValue]

    /// A section holding `values`.
    public init(_ values: [String: SharedConfigValue] = [:]) {
        self.values = values
    }

    /// The value of `key` (already lower-case for top-level keys), or nil.
    public subscript(key: String) -> SharedConfigValue? {
        values[key]
    }

    /// The string value of `key`; nil when absent or when it is a sub-section.
    public func string(_ key: String) -> String? {
        if case .string(let value) = values[key] { return value }
        return nil
    }

    /// The sub-section under `key`; nil when absent or when it is a plain string.
    public func subsection(_ key: String) -> [String: String]? {
        if case .subsection(let value) = values[key] { return value }
        return nil
    }
}

extension SharedConfigSection {
    /// `aws_access_key_id`.
    public var accessKeyID: String? { string("aws_access_key_id") }
    /// `aws_secret_access_key`.
    public var secretAccessKey: String? { string("aws_secret_access_key") }
    /// `aws_session_token`.
    public var sessionToken: String? { string("aws_session_token") }
    /// `role_arn`: the role to assume with this profile's source credentials.
    public var roleARN: String? { string("role_arn") }
    /// `source_profile`: the profile whose credentials assume `role_arn`.
    public var sourceProfile: String? { string("source_profile") }
    /// `web_identity_token_file`: the OIDC token used with `role_arn` (AssumeRoleWithWebIdentity).
    public var webIdentityTokenFile: String? { string("web_identity_token_file") }
    /// `role_session_name`.
    public var roleSessionName: String? { string("role_session_name") }
    /// `region`.
    public var region: String? { string("region") }
    /// `endpoint_url`: the profile-wide endpoint (SPEC §2.1 step 5).
    public var endpointURL: String? { string("endpoint_url") }
    /// `services`: the name of the `[services NAME]` section this profile uses.
    public var services: String? { string("services") }
    /// `ignore_configured_endpoint_urls`: true when the value is `true` in any case, as
    /// botocore's `ensure_boolean` reads it; nil when absent.
    public var ignoreConfiguredEndpointURLs: Bool? {
        string("ignore_configured_endpoint_urls").map { $0.lowercased() == "true" }
    }
}

extension SharedConfigSection: CustomStringConvertible, CustomDebugStringConvertible {
    /// The sorted key names, never their values.
    public var description: String {
        "[" + values.keys.sorted().joined(separator: ", ") + "]"
    }

    /// Same as ``description``.
    public var debugDescription: String {
        description
    }
}
