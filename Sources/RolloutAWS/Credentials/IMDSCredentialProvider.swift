public import AWSSigV4
public import CurlHTTP
import RolloutCore

/// The EC2 instance role's credentials through IMDSv2 (SPEC §2.2 step 5):
/// `GET /latest/meta-data/iam/security-credentials/` for the role name, then
/// `…/security-credentials/<role>` for the credentials, both with a session token
/// (``IMDSSession``).
///
/// Not configured (nil) when `AWS_EC2_METADATA_DISABLED=true`, when IMDS does not answer the
/// token request (1 s connect timeout: not on EC2), refuses it (403: IMDS disabled), or when
/// the instance has no role. Other failures are `Unavailable`.
public struct IMDSCredentialProvider: CredentialProvider {
    /// `imds`.
    public var source: String { "imds" }
    /// The session used; nil when IMDS is disabled.
    public let session: IMDSSession?

    /// A provider over `session`; nil disables it.
    public init(session: IMDSSession?) {
        self.session = session
    }

    /// A provider on the endpoint `environment` selects, or disabled by
    /// `AWS_EC2_METADATA_DISABLED=true`.
    public init(environment: [String: String], httpClient: any HTTPClient) {
        self.session = IMDSSession.isDisabled(environment: environment)
            ? nil : IMDSSession(environment: environment, httpClient: httpClient)
    }

    /// The role's credentials; nil when there is no IMDS or no role.
    public func load() async throws -> AWSCredentials? {
        guard let session else { return nil }
        let base = "/latest/meta-data/iam/security-credentials/"
        let roles: (status: Int, body: [UInt8])
        do {
            roles = try await session.get(base)
        } catch let error as IMDSError {
            switch error.kind {
            case .unreachable, .tokenRefused: return nil
            case .cancelled: throw RolloutError.cancelled
            case .requestFailed: throw unavailable(error.message, status: nil)
            }
        }
        if roles.status == 404 { return nil }
        guard roles.status == 200 else {
            throw unavailable("IMDS answered HTTP \(roles.status) for the instance role name", status: roles.status)
        }
        let role = CredentialText.trimmed(
            String(String(decoding: roles.body, as: UTF8.self).split(whereSeparator: \.isNewline).first ?? ""))
        guard !role.isEmpty else { return nil }
        let response: (status: Int, body: [UInt8])
        do {
            response = try await session.get(base + SigV4Signer.encodeURIComponent(role))
        } catch let error as IMDSError {
            if error.kind == .cancelled { throw RolloutError.cancelled }
            throw unavailable(error.message, status: error.status)
        }
        if response.status == 404 { return nil }
        guard response.status == 200 else {
            throw unavailable("IMDS answered HTTP \(response.status) for the role \(role)'s credentials", status: response.status)
        }
        guard let document = try? JSONParser.parse(response.body),
              let accessKeyID = document["AccessKeyId"]?.stringValue, !accessKeyID.isEmpty,
              let secret = document["SecretAccessKey"]?.stringValue, !secret.isEmpty
        else {
            throw unavailable("IMDS returned role credentials that are not the expected JSON", status: 200)
        }
        if let code = document["Code"]?.stringValue, code != "Success" {
            throw unavailable("IMDS reports the role \(role)'s credentials as \(code)", status: 200)
        }
        let token = document["Token"]?.stringValue
        return AWSCredentials(
            accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: token?.isEmpty == false ? token : nil,
            expiration: document["Expiration"]?.stringValue.flatMap(RFC3339.parse))
    }

    private func unavailable(_ message: String, status: Int?) -> RolloutError {
        var upstream: JSONObject = ["service": "imds"]
        if let status { upstream["httpStatus"] = .number(JSONNumber(status)) }
        return RolloutError(.unavailable, message, data: ["upstream": .object(upstream)])
    }
}
