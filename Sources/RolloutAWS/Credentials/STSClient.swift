import AWSConfig
public import AWSSigV4
public import CurlHTTP
import RolloutCore

/// The two STS calls the credential chain makes, as a thin layer over ``AWSClient`` (service
/// ``AWSService/sts``, Query protocol): `AssumeRoleWithWebIdentity` (sent unsigned) and
/// `AssumeRole` (signed with the source credentials passed in).
///
/// Signing, retries (AWS standard mode, ``RetryPolicy``) and error parsing and mapping
/// (``AWSErrorMapping``) are the shared client's, so failures carry
/// `data.upstream = {service: "sts", code, httpStatus, requestId}`. On top of that mapping this
/// layer makes the credential chain's view of STS errors:
///
/// - STS's identity-token rejections (``accessDeniedCodes``) are `AccessDenied`;
/// - `IDPCommunicationError` (the OIDC provider could not be reached) is `Unavailable`;
/// - a request STS found invalid (`ValidationError`, any other 4xx) is `ConfigInvalid`: it
///   comes from the profile or environment (role ARN, session name, duration), not from an
///   RPC caller;
/// - the message names the role, and is scrubbed (``SecretRedaction``) of the web identity
///   token, the source credentials, the external id and long echoed values.
///
/// Every call gets its own ``AWSClient`` (and so its own retry token bucket): `AssumeRole` is
/// signed with credentials that change from call to call.
public struct STSClient: Sendable {
    /// The API version of STS's Query protocol.
    static let apiVersion = "2011-06-15"

    /// Where requests go.
    public let endpoint: STSEndpoint
    /// The HTTP client.
    public let httpClient: any HTTPClient
    /// The retry settings of every call.
    public var retryPolicy: RetryPolicy
    /// Timeouts of one attempt.
    public var timeouts: HTTPTimeouts
    /// The clock requests are signed with, the sleeps between attempts and their jitter.
    public var environment: AWSClientEnvironment

    /// A client for `endpoint`.
    public init(
        endpoint: STSEndpoint,
        httpClient: any HTTPClient,
        retryPolicy: RetryPolicy = .standard(),
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15)),
        environment: AWSClientEnvironment = .live
    ) {
        self.endpoint = endpoint
        self.httpClient = httpClient
        self.retryPolicy = retryPolicy
        self.timeouts = timeouts
        self.environment = environment
    }

    /// `AssumeRoleWithWebIdentity`: exchanges an OIDC token for role credentials. Unsigned.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, webIdentityToken: String) async throws
        -> AWSCredentials
    {
        try await call(
            action: "AssumeRoleWithWebIdentity",
            params: [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken)],
            roleARN: roleARN, signingCredentials: nil, secrets: [webIdentityToken])
    }

    /// `AssumeRole`, signed with `credentials`.
    public func assumeRole(
        roleARN: String,
        sessionName: String,
        externalID: String? = nil,
        durationSeconds: Int? = nil,
        credentials: AWSCredentials
    ) async throws -> AWSCredentials {
        var params = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { params.append(("ExternalId", externalID)) }
        if let durationSeconds { params.append(("DurationSeconds", String(durationSeconds))) }
        return try await call(
            action: "AssumeRole", params: params, roleARN: roleARN, signingCredentials: credentials,
            secrets: [credentials.secretAccessKey, credentials.sessionToken ?? "", externalID ?? ""])
    }

    // MARK: Internals

    private func call(
        action: String,
        params: [(String, String)],
        roleARN: String,
        signingCredentials: AWSCredentials?,
        secrets: [String]
    ) async throws(RolloutError) -> AWSCredentials {
        do throws(RolloutError) {
            let client = try AWSClient(
                service: .sts, endpointURL: endpoint.url, region: endpoint.region,
                credentials: signingCredentials.map { StaticCredentials($0) } ?? NoCredentials(),
                http: httpClient, retryPolicy: retryPolicy, environment: environment)
            let root = try await client.queryCallXML(
                action: action, version: Self.apiVersion, params: params.map { (name: $0.0, value: $0.1) },
                isUnsigned: signingCredentials == nil, timeouts: timeouts, responseLimit: 1 << 20)
            return try Self.credentials(in: root, action: action)
        } catch {
            throw Self.credentialError(error, roleARN: roleARN, secrets: secrets)
        }
    }

    /// The credentials in a successful `<{action}Response>`; Unavailable when it has none.
    static func credentials(in root: AWSXMLElement, action: String) throws(RolloutError) -> AWSCredentials {
        guard let fields = root.child("\(action)Result")?.child("Credentials"),
              let accessKeyID = fields.childText("AccessKeyId"), !accessKeyID.isEmpty,
              let secret = fields.childText("SecretAccessKey"), !secret.isEmpty
        else {
            var upstream: JSONObject = ["service": .string(AWSService.sts.explainKey), "httpStatus": 200]
            if let requestID = root.child("ResponseMetadata")?.childText("RequestId") {
                upstream["requestId"] = .string(requestID)
            }
            throw RolloutError(
                .unavailable, "\(AWSService.sts.serviceID) \(action) returned a response without credentials",
                data: ["upstream": .object(upstream)])
        }
        let token = fields.childText("SessionToken")
        let expiration = fields.childText("Expiration").flatMap(RFC3339.parse)
        return AWSCredentials(
            accessKeyId: accessKeyID, secretAccessKey: secret,
            sessionToken: token?.isEmpty == false ? token : nil, expiration: expiration)
    }

    /// `error`, from ``AWSClient``, as the credential chain reports it (see the type's
    /// documentation); `data` is kept as it is.
    static func credentialError(_ error: RolloutError, roleARN: String, secrets: [String]) -> RolloutError {
        guard error.code != .requestCancelled else { return error }
        let upstreamCode = error.data["upstream"]?["code"]?.stringValue
        var code = error.code
        if let upstreamCode, accessDeniedCodes.contains(upstreamCode) {
            code = .accessDenied
        } else if upstreamCode == "IDPCommunicationError" {
            code = .unavailable
        } else if code == .invalidParams || code == .notFound || code == .preconditionFailed {
            code = .configInvalid
        }
        let message = SecretRedaction.scrub(error.message, secrets: secrets) + " (role \(roleARN))"
        return RolloutError(code, message, data: error.data)
    }

    /// STS codes that reject the caller's identity and that ``AWSErrorMapping`` does not
    /// already map to AccessDenied (SPEC §3.1).
    static let accessDeniedCodes: Set<String> = ["InvalidIdentityToken", "IDPRejectedClaim", "RegionDisabledException"]
}

/// The credential source of unsigned calls, which never ask for credentials.
private struct NoCredentials: CredentialSource {
    func credentials() async throws -> AWSCredentials {
        throw RolloutError.internalError("an unsigned STS call asked for credentials")
    }
}
