public import AWSConfig
public import AWSSigV4
import RolloutCore

/// A profile's static keys (`aws_access_key_id`, `aws_secret_access_key`,
/// `aws_session_token`) from one of the two shared files (SPEC §2.2 step 5): botocore's
/// `SharedCredentialProvider` (source `shared-credentials-file`) and `ConfigProvider`
/// (source `config-file`), which the chain tries as two steps with `credential_process`
/// between them.
///
/// Not configured (nil) when the profile has neither key in that file; one key without the
/// other is `ConfigInvalid` naming the missing key (botocore's `PartialCredentialsError`).
/// Keys never expire, so the chain never refreshes them.
public struct StaticProfileCredentialProvider: CredentialProvider {
    /// `shared-credentials-file` or `config-file`.
    public let source: String
    /// The profile read.
    public let profileName: String

    private let file: SharedConfigFile
    private let label: String

    /// The keys of `profileName` in `file`, which is the shared credentials file or the shared
    /// config file as `kind` says (``SharedConfigFile/read(_:environment:)``).
    public init(profileName: String, file: SharedConfigFile, kind: SharedConfigFile.Kind) {
        self.profileName = profileName
        self.file = file
        switch kind {
        case .credentials:
            source = "shared-credentials-file"
            label = "shared credentials file"
        case .config:
            source = "config-file"
            label = "shared config file"
        }
    }

    /// The keys, nil when the profile has none in this file.
    public func load() async throws -> AWSCredentials? {
        guard let section = file.profiles[profileName] else { return nil }
        let accessKeyID = section.accessKeyID.flatMap { $0.isEmpty ? nil : $0 }
        let secret = section.secretAccessKey.flatMap { $0.isEmpty ? nil : $0 }
        switch (accessKeyID, secret) {
        case (let accessKeyID?, let secret?):
            let token = section.sessionToken
            return AWSCredentials(accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: token?.isEmpty == false ? token : nil)
        case (.some, nil):
            throw RolloutError(
                .configInvalid, "the AWS profile \(profileName) in the \(label) has aws_access_key_id but no aws_secret_access_key")
        case (nil, .some):
            throw RolloutError(
                .configInvalid, "the AWS profile \(profileName) in the \(label) has aws_secret_access_key but no aws_access_key_id")
        case (nil, nil):
            return nil
        }
    }

    /// Whether `section` names either static key (botocore's `_has_static_credentials`).
    static func hasStaticKeys(_ section: SharedConfigSection) -> Bool {
        section.accessKeyID?.isEmpty == false || section.secretAccessKey?.isEmpty == false
    }
}
