public import AWSSigV4
public import CurlHTTP
import RolloutCore

/// The two STS calls the credential chain makes, over the Query protocol (form-encoded POST,
/// XML response): `AssumeRoleWithWebIdentity` (unsigned) and `AssumeRole` (SigV4, service
/// `sts`).
///
/// Transport errors, 5xx, throttling and `IDPCommunicationError` are retried (3 attempts,
/// jittered backoff). Failures become ``RolloutError``s with
/// `data.upstream = {service: "sts", code, httpStatus, requestId}`: access errors are
/// `AccessDenied`, throttling `Throttled`, 5xx and network errors `Unavailable`, any other
/// client error `ConfigInvalid`. Messages never contain credentials or tokens.
public struct STSClient: Sendable {
    /// Where requests go.
    public let endpoint: STSEndpoint
    /// The HTTP client.
    public let httpClient: any HTTPClient
    /// Attempts per call, at least 1.
    public var maxAttempts: Int
    /// Timeouts of one attempt.
    public var timeouts: HTTPTimeouts

    /// A client for `endpoint`.
    public init(
        endpoint: STSEndpoint,
        httpClient: any HTTPClient,
        maxAttempts: Int = 3,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    ) {
        self.endpoint = endpoint
        self.httpClient = httpClient
        self.maxAttempts = max(1, maxAttempts)
        self.timeouts = timeouts
    }

    /// `AssumeRoleWithWebIdentity`: exchanges an OIDC token for role credentials. Unsigned.
    public func assumeRoleWithWebIdentity(roleARN: String, sessionName: String, webIdentityToken: String) async throws
        -> AWSCredentials
    {
        try await call(
            action: "AssumeRoleWithWebIdentity",
            parameters: [("RoleArn", roleARN), ("RoleSessionName", sessionName), ("WebIdentityToken", webIdentityToken)],
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
        var parameters = [("RoleArn", roleARN), ("RoleSessionName", sessionName)]
        if let externalID { parameters.append(("ExternalId", externalID)) }
        if let durationSeconds { parameters.append(("DurationSeconds", String(durationSeconds))) }
        return try await call(
            action: "AssumeRole", parameters: parameters, roleARN: roleARN, signingCredentials: credentials,
            secrets: [credentials.secretAccessKey, credentials.sessionToken ?? "", externalID ?? ""])
    }

    // MARK: Internals

    private func call(
        action: String,
        parameters: [(String, String)],
        roleARN: String,
        signingCredentials: AWSCredentials?,
        secrets: [String]
    ) async throws -> AWSCredentials {
        guard let url = CredentialURL(endpoint.url) else {
            throw RolloutError(.configInvalid, "the STS endpoint URL \(endpoint.url) is not an http(s) URL")
        }
        var body = "Action=\(action)&Version=2011-06-15"
        for (name, value) in parameters {
            body += "&\(name)=\(SigV4Signer.encodeURIComponent(value))"
        }
        let bodyBytes = Array(body.utf8)
        let what = "STS \(action) for \(roleARN)"
        var attempt = 1
        while true {
            try Task.checkCancellation()
            var request = SigningRequest(
                method: "POST", scheme: url.scheme, host: url.hostHeader, path: url.path,
                headers: [("content-type", "application/x-www-form-urlencoded; charset=utf-8")])
            if let signingCredentials {
                SigV4Signer(credentials: signingCredentials, region: endpoint.region, service: "sts")
                    .sign(&request, payloadHash: .sha256(of: bodyBytes), date: SigningDate(timeIntervalSince1970: CredentialsClock.now()))
            }
            let failure: RolloutError
            let retryable: Bool
            do {
                let response = try await httpClient.execute(
                    HTTPRequest(method: "POST", url: request.wireURL(), headers: request.headers, body: .bytes(bodyBytes)),
                    sink: .memory(limit: 1 << 20), timeouts: timeouts, progress: nil)
                if response.status == 200 {
                    return try Self.credentials(from: response, action: action, what: what)
                }
                let classified = Self.error(from: response, what: what, secrets: secrets)
                failure = classified.error
                retryable = classified.retryable
            } catch let error as HTTPError {
                if error.kind == .cancelled { throw RolloutError.cancelled }
                failure = RolloutError(
                    .unavailable, "\(what) at \(url.origin) failed: \(error)",
                    data: ["upstream": .object(["service": "sts"])])
                retryable = error.kind != .tooLarge && error.kind != .local
            }
            guard retryable, attempt < maxAttempts else { throw failure }
            // Full jitter over 100 ms × 2^(attempt-1).
            let ceiling = 0.1 * Double(1 << (attempt - 1))
            try await Task.sleep(for: .milliseconds(Int(Double.random(in: 0...ceiling) * 1000)))
            attempt += 1
        }
    }

    private static func credentials(from response: HTTPResponse, action: String, what: String) throws -> AWSCredentials {
        guard let root = XMLElementExtractor.parse(response.body),
              let fields = root.element(at: ["\(action)Result", "Credentials"]),
              let accessKeyID = fields.text(at: ["AccessKeyId"]), !accessKeyID.isEmpty,
              let secret = fields.text(at: ["SecretAccessKey"]), !secret.isEmpty
        else {
            throw RolloutError(
                .unavailable, "\(what) returned a response without credentials",
                data: ["upstream": upstream(code: nil, status: response.status, requestID: response.header("x-amzn-requestid"))])
        }
        let token = fields.text(at: ["SessionToken"])
        let expiration = fields.text(at: ["Expiration"]).flatMap(RFC3339Timestamp.secondsSinceEpoch)
        return AWSCredentials(
            accessKeyId: accessKeyID, secretAccessKey: secret,
            sessionToken: token?.isEmpty == false ? token : nil, expiration: expiration)
    }

    /// The error for a non-200 response, and whether another attempt may succeed.
    static func error(from response: HTTPResponse, what: String, secrets: [String]) -> (error: RolloutError, retryable: Bool) {
        let root = XMLElementExtractor.parse(response.body)
        let errorElement = root?.element(at: ["Error"])
        let code = errorElement?.text(at: ["Code"])
        let upstreamMessage = errorElement?.text(at: ["Message"]).map { SecretRedaction.scrub($0, secrets: secrets) }
        let requestID = response.header("x-amzn-requestid") ?? root?.text(at: ["RequestId"])
        let status = response.status
        let errorCode: ErrorCode
        var retryable = false
        var data: JSONObject = ["upstream": upstream(code: code, status: status, requestID: requestID)]
        if status == 429 || code.map(throttlingCodes.contains) == true {
            errorCode = .throttled
            data["retryAfterMs"] = .number(JSONNumber(1000))
            retryable = true
        } else if let code, accessCodes.contains(code) {
            errorCode = .accessDenied
        } else if status >= 500 || code == "IDPCommunicationError" {
            errorCode = .unavailable
            retryable = true
        } else if status == 401 || status == 403 {
            errorCode = .accessDenied
        } else {
            errorCode = .configInvalid
        }
        var message = "\(what) failed: \(code ?? "HTTP \(status)") (HTTP \(status))"
        if let upstreamMessage, !upstreamMessage.isEmpty { message += ": \(upstreamMessage)" }
        return (RolloutError(errorCode, message, data: data), retryable)
    }

    private static func upstream(code: String?, status: Int, requestID: String?) -> JSONValue {
        var object: JSONObject = ["service": "sts", "httpStatus": .number(JSONNumber(status))]
        object["code"] = code.map(JSONValue.string) ?? .null
        object["requestId"] = requestID.map(JSONValue.string) ?? .null
        return .object(object)
    }

    /// Codes that mean the caller is not allowed (SPEC §3.1 AccessDenied).
    static let accessCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "InvalidIdentityToken", "ExpiredToken", "ExpiredTokenException",
        "InvalidClientTokenId", "SignatureDoesNotMatch", "IDPRejectedClaim", "UnrecognizedClientException",
        "MissingAuthenticationToken", "RegionDisabledException",
    ]

    /// botocore's standard-mode throttling codes.
    static let throttlingCodes: Set<String> = [
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException", "TransactionInProgressException",
        "RequestLimitExceeded", "BandwidthLimitExceeded", "LimitExceededException", "RequestThrottled", "SlowDown",
        "PriorRequestNotComplete", "EC2ThrottledException",
    ]
}
