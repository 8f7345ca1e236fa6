public import AWSConfig
public import AWSSigV4
import Glibc
import RolloutCore
import RolloutSystem

/// Credentials printed by the profile's `credential_process` (SPEC §2.2 step 6, source
/// `process`), as botocore's `ProcessProvider` reads them.
///
/// The command line is split into words as `shlex.split` does (no shell: no pipes, globbing or
/// variables) and run with the daemon's environment, standard input from `/dev/null`, no
/// other inherited descriptors, off the cooperative pool (RolloutSystem's ``ChildProcess``), and killed
/// with its process group after the time limit. Its standard output must be the JSON
/// `{"Version": 1, "AccessKeyId", "SecretAccessKey", "SessionToken"?, "Expiration"?}`; with an
/// `Expiration` the chain runs it again before they expire. A non-zero exit, a signal, a
/// timeout, output that is not that JSON, or another `Version` is an error that names the
/// profile and the program but never shows what the program printed (its standard error is
/// read and dropped too: either may hold secrets).
public struct ProcessCredentialProvider: CredentialProvider {
    /// `process`.
    public var source: String { "process" }
    /// The profile read.
    public let profileName: String

    /// The most standard output read from the program (1 MiB).
    static let outputLimit = 1 << 20

    private let command: String?
    private let environment: [String: String]
    private let timeout: Duration

    /// The `credential_process` of `profile` (the merged files' section of `profileName`,
    /// may be nil), run with `environment` and killed after `timeout`.
    public init(profileName: String, profile: SharedConfigSection?, environment: [String: String], timeout: Duration = .seconds(60)) {
        self.profileName = profileName
        self.command = profile?.string("credential_process").flatMap { $0.isEmpty ? nil : $0 }
        self.environment = environment
        self.timeout = timeout
    }

    init(profileName: String, profile: SharedConfigSection?, settings: CredentialSettings) {
        self.init(profileName: profileName, profile: profile, environment: settings.environment, timeout: settings.processTimeout)
    }

    /// Runs the program; nil when the profile has no `credential_process`.
    public func load() async throws -> AWSCredentials? {
        guard let command else { return nil }
        guard let arguments = PythonText.shellWords(command), let program = arguments.first, !program.isEmpty else {
            throw RolloutError(
                .configInvalid,
                "the credential_process of AWS profile \(profileName) cannot be split into words"
                    + " (an unclosed quote or a trailing backslash?)")
        }
        let what = "the credential_process of AWS profile \(profileName) (\(program))"
        let environment = self.environment
        let timeout = self.timeout
        let outcome: ChildProcess.Outcome
        do {
            outcome = try await CredentialIO.shared.run { flag throws(SystemError) in
                try ChildProcess.run(
                    arguments, environment: environment, timeout: timeout, outputLimit: Self.outputLimit, cancellation: flag)
            }
        } catch {
            throw RolloutError(.configInvalid, "\(what) cannot be started: \(SystemError.message(for: error.code))")
        }
        let hidden = "; what it printed is not shown, as it may hold secrets"
        switch outcome {
        case .exited(0, let output):
            return try Self.credentials(from: output, what: what)
        case .exited(let status, _):
            throw RolloutError(.unavailable, "\(what) exited with status \(status)\(hidden)")
        case .signaled(let signal):
            throw RolloutError(.unavailable, "\(what) was killed by signal \(signal)\(hidden)")
        case .timedOut:
            throw RolloutError(.unavailable, "\(what) did not finish within \(timeout) and was killed")
        case .outputTooLarge:
            throw RolloutError(.configInvalid, "\(what) printed more than \(Self.outputLimit) bytes and was killed")
        case .vanished:
            throw RolloutError(.unavailable, "\(what) ended, but its exit status could not be read")
        case .cancelled:
            throw RolloutError.cancelled
        }
    }

    /// The credentials in the program's standard output; `ConfigInvalid` describing what is
    /// wrong with it, never quoting it.
    static func credentials(from output: [UInt8], what: String) throws(RolloutError) -> AWSCredentials {
        func invalid(_ problem: String) -> RolloutError {
            RolloutError(.configInvalid, "\(what) printed \(problem); expected {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...}")
        }
        guard let document = try? JSONParser.parse(output), let object = document.objectValue else {
            throw invalid("something that is not a JSON object")
        }
        guard let version = object["Version"] else { throw invalid("a JSON object without Version") }
        guard version.int64Value == 1 else { throw invalid("a JSON object whose Version is not 1 (only Version 1 is supported)") }
        guard let accessKeyID = object["AccessKeyId"]?.stringValue, !accessKeyID.isEmpty else {
            throw invalid("a JSON object without a string AccessKeyId")
        }
        guard let secret = object["SecretAccessKey"]?.stringValue, !secret.isEmpty else {
            throw invalid("a JSON object without a string SecretAccessKey")
        }
        var token: String?
        switch object["SessionToken"] {
        case nil, .null?: token = nil
        case .string(let value)?: token = value.isEmpty ? nil : value
        default: throw invalid("a JSON object whose SessionToken is not a string")
        }
        var expiration: Double?
        switch object["Expiration"] {
        case nil, .null?: expiration = nil
        case .string(let text)?:
            guard let parsed = RFC3339.parse(text) else { throw invalid("a JSON object whose Expiration is not an RFC 3339 time") }
            expiration = parsed
        default: throw invalid("a JSON object whose Expiration is not a string")
        }
        return AWSCredentials(accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: token, expiration: expiration)
    }
}
