public import AWSConfig
import RolloutCore

/// One reading of the shared config file and the shared credentials file, each on its own
/// (botocore's `shared-credentials-file` and `config-file` steps read one file each) and
/// merged (what `credential_process`, `role_arn`, `sso_*` and `web_identity_token_file` are
/// looked up in, botocore's `Session.full_config`).
public struct SharedCredentialFiles: Sendable {
    /// The shared config file (`$AWS_CONFIG_FILE`, `~/.aws/config`).
    public let config: SharedConfigFile
    /// The shared credentials file (`$AWS_SHARED_CREDENTIALS_FILE`, `~/.aws/credentials`).
    public let credentials: SharedConfigFile
    /// The two merged (``SharedConfigFile/merging(credentials:)``).
    public let merged: SharedConfigFile

    /// The two files, as read.
    public init(config: SharedConfigFile, credentials: SharedConfigFile) {
        self.config = config
        self.credentials = credentials
        self.merged = config.merging(credentials: credentials)
    }

    /// Reads both files named by `environment` (missing files are empty). Blocks on file
    /// reads: call it off the cooperative pool.
    ///
    /// - Throws: `ConfigInvalid` naming the file and line when one does not parse.
    static func read(environment: [String: String]) throws(RolloutError) -> SharedCredentialFiles {
        do {
            return SharedCredentialFiles(
                config: try SharedConfigFile.read(.config, environment: environment),
                credentials: try SharedConfigFile.read(.credentials, environment: environment))
        } catch {
            throw RolloutError(.configInvalid, "cannot read the AWS shared config files: \(error)")
        }
    }
}
