public import AWSSigV4
import RolloutCore

/// Credentials from `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`
/// (SPEC §2.2 step 1). They never expire, so the chain never refreshes them.
///
/// Not configured (nil) when neither key variable is set (empty counts as unset); one
/// without the other is `ConfigInvalid` naming the missing variable, as botocore's
/// `PartialCredentialsError`.
public struct EnvironmentCredentialProvider: CredentialProvider {
    /// `env`.
    public var source: String { "env" }

    private let accessKeyID: String?
    private let secretAccessKey: String?
    private let sessionToken: String?

    /// Reads the three variables from `environment` (the process environment, usually).
    public init(environment: [String: String]) {
        func nonEmpty(_ name: String) -> String? {
            guard let value = environment[name], !value.isEmpty else { return nil }
            return value
        }
        accessKeyID = nonEmpty("AWS_ACCESS_KEY_ID")
        secretAccessKey = nonEmpty("AWS_SECRET_ACCESS_KEY")
        sessionToken = nonEmpty("AWS_SESSION_TOKEN")
    }

    /// The credentials, nil when the variables are unset.
    public func load() async throws -> AWSCredentials? {
        switch (accessKeyID, secretAccessKey) {
        case (let accessKeyID?, let secretAccessKey?):
            return AWSCredentials(accessKeyId: accessKeyID, secretAccessKey: secretAccessKey, sessionToken: sessionToken)
        case (.some, nil):
            throw RolloutError(.configInvalid, "AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not")
        case (nil, .some):
            throw RolloutError(.configInvalid, "AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not")
        case (nil, nil):
            return nil
        }
    }
}
