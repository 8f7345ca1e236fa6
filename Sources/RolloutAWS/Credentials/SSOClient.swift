import AWSSigV4
import CurlHTTP
import RolloutCore

/// The two IAM Identity Center calls of the `sso` provider, both unsigned rest-json
/// (botocore's `sso` and `sso-oidc` models, 2019-06-10):
///
/// - the portal's `GetRoleCredentials`: `GET /federation/credentials?role_name=&account_id=`
///   with the access token in `x-amz-sso_bearer_token`;
/// - SSO OIDC `CreateToken` with `grantType = refresh_token`: `POST /token` with a JSON body.
///
/// Up to ``maxAttempts`` attempts for transport failures, 5xx and throttling, with jittered
/// exponential backoff. Errors carry `data.upstream = {service: "sso" | "sso_oidc", code,
/// httpStatus, requestId}`; 401 and the OAuth rejections are `AccessDenied`, throttling
/// `Throttled`, 5xx and transport failures `Unavailable`, other 4xx `ConfigInvalid`. Messages
/// are scrubbed of the tokens and the client secret sent.
struct SSOClient: Sendable {
    /// A token `CreateToken` returned.
    struct Token: Sendable {
        var accessToken: String
        var expiresIn: Double
        var refreshToken: String?
    }

    var httpClient: any HTTPClient
    var timeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    var maxAttempts = 3

    /// OAuth error codes of `CreateToken` that mean the refresh token or the client
    /// registration is no longer accepted.
    static let rejectedGrantCodes: Set<String> = [
        "InvalidGrantException", "ExpiredTokenException", "InvalidClientException", "UnauthorizedClientException",
        "AccessDeniedException", "UnauthorizedException",
    ]

    /// The portal's `GetRoleCredentials` at `endpoint` (`https://portal.sso.<region>.amazonaws.com`).
    func getRoleCredentials(endpoint: String, roleName: String, accountID: String, accessToken: String) async throws(RolloutError)
        -> AWSCredentials
    {
        let url = Self.join(endpoint, "/federation/credentials")
            + "?role_name=\(SigV4Signer.encodeURIComponent(roleName))&account_id=\(SigV4Signer.encodeURIComponent(accountID))"
        let request = HTTPRequest(
            method: "GET", url: url, headers: [("Accept", "application/json"), ("x-amz-sso_bearer_token", accessToken)])
        let body = try await send(request, service: "sso", operation: "GetRoleCredentials", secrets: [accessToken])
        guard let fields = (try? JSONParser.parse(body))?["roleCredentials"],
              let accessKeyID = fields["accessKeyId"]?.stringValue, !accessKeyID.isEmpty,
              let secret = fields["secretAccessKey"]?.stringValue, !secret.isEmpty
        else {
            throw RolloutError(
                .unavailable, "IAM Identity Center GetRoleCredentials returned a response without credentials",
                data: ["upstream": .object(["service": "sso", "httpStatus": 200])])
        }
        let token = fields["sessionToken"]?.stringValue
        return AWSCredentials(
            accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: token?.isEmpty == false ? token : nil,
            expiration: fields["expiration"]?.doubleValue.map { $0 / 1000 })
    }

    /// SSO OIDC `CreateToken` with the refresh-token grant at `endpoint`
    /// (`https://oidc.<region>.amazonaws.com`).
    func createToken(endpoint: String, clientID: String, clientSecret: String, refreshToken: String) async throws(RolloutError)
        -> Token
    {
        let body: JSONValue = [
            "clientId": .string(clientID), "clientSecret": .string(clientSecret), "grantType": "refresh_token",
            "refreshToken": .string(refreshToken),
        ]
        let request = HTTPRequest(
            method: "POST", url: Self.join(endpoint, "/token"),
            headers: [("Content-Type", "application/json"), ("Accept", "application/json")], body: .bytes(body.serialized()))
        let response = try await send(
            request, service: "sso_oidc", operation: "CreateToken", secrets: [clientSecret, refreshToken])
        guard let document = try? JSONParser.parse(response),
              let accessToken = document["accessToken"]?.stringValue, !accessToken.isEmpty,
              let expiresIn = document["expiresIn"]?.doubleValue
        else {
            throw RolloutError(
                .unavailable, "IAM Identity Center CreateToken returned a response without a token",
                data: ["upstream": .object(["service": "sso_oidc", "httpStatus": 200])])
        }
        let newRefreshToken = document["refreshToken"]?.stringValue
        return Token(
            accessToken: accessToken, expiresIn: expiresIn, refreshToken: newRefreshToken?.isEmpty == false ? newRefreshToken : nil)
    }

    // MARK: Internals

    private static func join(_ endpoint: String, _ path: String) -> String {
        var base = Substring(endpoint)
        while base.hasSuffix("/") { base = base.dropLast() }
        return base + path
    }

    /// Sends `request`, retrying as the type describes; the body of the 2xx response.
    private func send(_ request: HTTPRequest, service: String, operation: String, secrets: [String]) async throws(RolloutError)
        -> [UInt8]
    {
        let call = "IAM Identity Center \(operation)"
        var attempt = 1
        while true {
            if Task.isCancelled { throw .cancelled }
            let failure: RolloutError
            let retryable: Bool
            do {
                let response = try await httpClient.execute(request, sink: .memory(limit: 1 << 20), timeouts: timeouts, progress: nil)
                if (200..<300).contains(response.status) { return response.body }
                let error = AWSServiceError.parse(response, body: response.body)
                let code = error.code ?? "HTTP \(response.status)"
                var upstream: JSONObject = [
                    "service": .string(service), "code": .string(code), "httpStatus": .number(JSONNumber(response.status)),
                ]
                if let requestID = error.requestId { upstream["requestId"] = .string(requestID) }
                let errorCode: ErrorCode
                if response.status == 429 || code == "TooManyRequestsException" || code == "SlowDownException" {
                    errorCode = .throttled
                } else if response.status >= 500 {
                    errorCode = .unavailable
                } else if response.status == 401 || response.status == 403 || Self.rejectedGrantCodes.contains(code) {
                    errorCode = .accessDenied
                } else {
                    errorCode = .configInvalid
                }
                retryable = errorCode == .throttled || errorCode == .unavailable
                let detail = error.message.map { ": " + SecretRedaction.scrub($0, secrets: secrets) } ?? ""
                failure = RolloutError(
                    errorCode, "\(call) failed with \(code) (HTTP \(response.status))\(detail)",
                    data: ["upstream": .object(upstream)])
            } catch {
                if error.kind == .cancelled || Task.isCancelled { throw .cancelled }
                retryable = error.kind != .local && error.kind != .tooLarge
                failure = RolloutError(
                    .unavailable, "\(call) failed: \(SecretRedaction.scrub(error.description, secrets: secrets))",
                    data: ["upstream": .object(["service": .string(service)])])
            }
            guard retryable, attempt < maxAttempts else { throw failure }
            let ceiling = min(20_000, 100 << attempt)
            do {
                try await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
            } catch {
                throw .cancelled
            }
            attempt += 1
        }
    }
}
