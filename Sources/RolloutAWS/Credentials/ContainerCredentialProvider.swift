import AWSConfig
public import AWSSigV4
public import CurlHTTP
import RolloutCore
import RolloutSystem
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Container credentials (ECS task roles, EKS Pod Identity; SPEC §2.2 step 4).
///
/// The URL is `http://169.254.170.2` + `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, else
/// `AWS_CONTAINER_CREDENTIALS_FULL_URI`, which must be `https`, or `http` to a loopback
/// address (127.0.0.0/8, `::1`, `localhost`), 169.254.170.2, 169.254.170.23 or fd00:ec2::23
/// (else `ConfigInvalid` naming the variable). The `Authorization` header comes from the file
/// named by `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` — read again on every ``load()``, and
/// taking precedence — or from `AWS_CONTAINER_AUTHORIZATION_TOKEN`; a value with CR or LF is
/// refused. The response is `{AccessKeyId, SecretAccessKey, Token, Expiration}`.
///
/// 2 s connect and 5 s total per attempt, 3 attempts for transport errors and 5xx; 401/403
/// are `AccessDenied`.
public struct ContainerCredentialProvider: CredentialProvider {
    /// `container`.
    public var source: String { "container" }

    /// The ECS credentials host that relative URIs go to.
    public static let ecsHost = "169.254.170.2"

    private let environment: [String: String]
    private let httpClient: any HTTPClient
    private let timeouts: HTTPTimeouts
    private let maxAttempts: Int
    private let readFile: @Sendable (String) -> [UInt8]?

    /// A provider configured by `environment`.
    public init(
        environment: [String: String],
        httpClient: any HTTPClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(2), total: .seconds(5), stall: .seconds(5)),
        maxAttempts: Int = 3
    ) {
        self.init(
            environment: environment, httpClient: httpClient, timeouts: timeouts, maxAttempts: maxAttempts,
            readFile: RegularFile.contents(atPath:))
    }

    init(
        environment: [String: String],
        httpClient: any HTTPClient,
        timeouts: HTTPTimeouts,
        maxAttempts: Int,
        readFile: @escaping @Sendable (String) -> [UInt8]?
    ) {
        self.environment = environment
        self.httpClient = httpClient
        self.timeouts = timeouts
        self.maxAttempts = max(1, maxAttempts)
        self.readFile = readFile
    }

    /// Whether `uri` may be used as `AWS_CONTAINER_CREDENTIALS_FULL_URI`: `https`, or `http`
    /// to a loopback address (127.0.0.0/8, `::1`, `localhost`), 169.254.170.2,
    /// 169.254.170.23 or fd00:ec2::23. Host names other than `localhost` are not resolved.
    public static func isAllowedFullURI(_ uri: String) -> Bool {
        guard let url = CredentialURL(uri) else { return false }
        if url.scheme == "https" { return true }
        let host = url.host
        if host == "localhost" { return true }
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 {
            let bytes = withUnsafeBytes(of: &v4) { Array($0) }
            return bytes[0] == 127 || bytes == [169, 254, 170, 2] || bytes == [169, 254, 170, 23]
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 {
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            let loopback: [UInt8] = Array(repeating: 0, count: 15) + [1]
            let eksPodIdentity: [UInt8] = [0xFD, 0, 0x0E, 0xC2] + Array(repeating: 0, count: 11) + [0x23]
            return bytes == loopback || bytes == eksPodIdentity
        }
        return false
    }

    /// The container's credentials; nil when neither URI variable is set.
    public func load() async throws -> AWSCredentials? {
        let url: String
        if let relative = environment["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"], !relative.isEmpty {
            url = "http://\(Self.ecsHost)" + (relative.hasPrefix("/") ? relative : "/" + relative)
        } else if let full = environment["AWS_CONTAINER_CREDENTIALS_FULL_URI"], !full.isEmpty {
            guard Self.isAllowedFullURI(full) else {
                let host = CredentialURL(full)?.host ?? "(not an http or https URL)"
                throw RolloutError(
                    .configInvalid,
                    "AWS_CONTAINER_CREDENTIALS_FULL_URI must be an https URL, or an http URL to a loopback address,"
                        + " 169.254.170.2, 169.254.170.23 or fd00:ec2::23; its host is \(host)")
            }
            url = full
        } else {
            return nil
        }
        var headers: [(name: String, value: String)] = [("Accept", "application/json")]
        if let authorization = try await authorizationHeader() {
            headers.append(("Authorization", authorization))
        }
        let origin = CredentialURL(url)?.origin ?? "the container credentials endpoint"
        var attempt = 1
        while true {
            try Task.checkCancellation()
            let failure: RolloutError
            let retryable: Bool
            do {
                let response = try await httpClient.execute(
                    HTTPRequest(method: "GET", url: url, headers: headers),
                    sink: .memory(limit: 1 << 20), timeouts: timeouts, progress: nil)
                if response.status == 200 {
                    return try Self.credentials(from: response.body, origin: origin)
                }
                let status = response.status
                let upstream: JSONObject = ["service": "container", "httpStatus": .number(JSONNumber(status))]
                if status == 401 || status == 403 {
                    throw RolloutError(
                        .accessDenied,
                        "the container credentials endpoint \(origin) refused the request (HTTP \(status)):"
                            + " check the authorization token",
                        data: ["upstream": .object(upstream)])
                }
                retryable = status >= 500 || status == 429
                failure = RolloutError(
                    retryable ? .unavailable : .configInvalid,
                    "the container credentials endpoint \(origin) answered HTTP \(status)",
                    data: ["upstream": .object(upstream)])
            } catch let error as HTTPError {
                if error.kind == .cancelled { throw RolloutError.cancelled }
                retryable = error.kind != .local && error.kind != .tooLarge
                failure = RolloutError(
                    .unavailable, "the container credentials endpoint \(origin) failed: \(error)",
                    data: ["upstream": .object(["service": "container"])])
            }
            guard retryable, attempt < maxAttempts else { throw failure }
            try await Task.sleep(for: .milliseconds(Int.random(in: 50...250)))
            attempt += 1
        }
    }

    /// The `Authorization` value: the token file's content (re-read now, off the cooperative
    /// pool), else the variable.
    private func authorizationHeader() async throws -> String? {
        let value: String
        let origin: String
        if let path = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"], !path.isEmpty {
            let readFile = self.readFile
            let contents = await CredentialIO.shared.run { _ in readFile(path) }
            guard let bytes = contents, let text = String(validating: bytes, as: UTF8.self) else {
                throw RolloutError(
                    .configInvalid,
                    "cannot read the container authorization token file \(path) (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)")
            }
            value = text
            origin = "the file named by AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"
        } else if let token = environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"], !token.isEmpty {
            value = token
            origin = "AWS_CONTAINER_AUTHORIZATION_TOKEN"
        } else {
            return nil
        }
        guard !CredentialText.containsLineBreak(value) else {
            throw RolloutError(
                .configInvalid, "the container authorization token from \(origin) contains CR or LF, which a header cannot carry")
        }
        return value
    }

    private static func credentials(from body: [UInt8], origin: String) throws -> AWSCredentials {
        guard let document = try? JSONParser.parse(body),
              let accessKeyID = document["AccessKeyId"]?.stringValue, !accessKeyID.isEmpty,
              let secret = document["SecretAccessKey"]?.stringValue, !secret.isEmpty
        else {
            throw RolloutError(
                .unavailable, "the container credentials endpoint \(origin) returned a response without credentials",
                data: ["upstream": .object(["service": "container", "httpStatus": 200])])
        }
        let token = document["Token"]?.stringValue
        return AWSCredentials(
            accessKeyId: accessKeyID, secretAccessKey: secret, sessionToken: token?.isEmpty == false ? token : nil,
            expiration: document["Expiration"]?.stringValue.flatMap(RFC3339.parse))
    }
}
