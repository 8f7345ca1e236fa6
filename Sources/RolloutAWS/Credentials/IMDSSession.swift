public import CurlHTTP
import Synchronization

/// An IMDSv2 session: fetches a session token with `PUT /latest/api/token`
/// (`X-aws-ec2-metadata-token-ttl-seconds`), caches it until 60 s before its TTL ends, and
/// sends it as `X-aws-ec2-metadata-token` on every `GET`. A `401` fetches a new token once
/// and repeats the request. It never makes a token-less (IMDSv1) request.
///
/// Concurrent callers share one token request (single-flight). Used by
/// ``IMDSCredentialProvider`` and by `compute.hint`.
public final class IMDSSession: Sendable {
    /// The IPv4 endpoint, `http://169.254.169.254`.
    public static let defaultEndpoint = "http://169.254.169.254"
    /// The IPv6 endpoint, `http://[fd00:ec2::254]`.
    public static let defaultIPv6Endpoint = "http://[fd00:ec2::254]"

    /// The endpoint, without a trailing slash.
    public let endpoint: String
    /// The token TTL requested, in seconds (1–21600).
    public let tokenTTLSeconds: Int
    /// Timeouts of each request (1 s connect by default).
    public let timeouts: HTTPTimeouts

    private let httpClient: any HTTPClient
    private let now: @Sendable () -> Double
    private let state = Mutex<State>(State())

    private struct State {
        var token: String?
        var validUntil: Double = 0
        var inflight: Task<String, any Error>?
    }

    /// A session against `endpoint`.
    ///
    /// - Parameters:
    ///   - tokenTTLSeconds: the TTL asked for, clamped to 1–21600; the token is reused until
    ///     60 s before it ends.
    ///   - now: the clock the token's lifetime is measured with (tests inject one).
    public init(
        endpoint: String = IMDSSession.defaultEndpoint,
        tokenTTLSeconds: Int = 21600,
        httpClient: any HTTPClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(1), total: .seconds(3), stall: .seconds(2)),
        now: @escaping @Sendable () -> Double = CredentialsClock.now
    ) {
        var endpoint = endpoint
        while endpoint.hasSuffix("/") { endpoint.removeLast() }
        self.endpoint = endpoint
        self.tokenTTLSeconds = min(max(tokenTTLSeconds, 1), 21600)
        self.httpClient = httpClient
        self.timeouts = timeouts
        self.now = now
    }

    /// A session on the endpoint the environment selects (``endpoint(environment:)``).
    public convenience init(environment: [String: String], httpClient: any HTTPClient, tokenTTLSeconds: Int = 21600) {
        self.init(endpoint: Self.endpoint(environment: environment), tokenTTLSeconds: tokenTTLSeconds, httpClient: httpClient)
    }

    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT` when set; else the IPv6 endpoint when
    /// `AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE` is `IPv6`; else `http://169.254.169.254`.
    public static func endpoint(environment: [String: String]) -> String {
        if let endpoint = environment["AWS_EC2_METADATA_SERVICE_ENDPOINT"], !endpoint.isEmpty { return endpoint }
        if environment["AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE"]?.lowercased() == "ipv6" { return defaultIPv6Endpoint }
        return defaultEndpoint
    }

    /// Whether `AWS_EC2_METADATA_DISABLED` is `true` (any case): IMDS must not be contacted.
    public static func isDisabled(environment: [String: String]) -> Bool {
        environment["AWS_EC2_METADATA_DISABLED"]?.lowercased() == "true"
    }

    /// `GET <endpoint><path>` with the session token; `path` starts with `/`
    /// (`/latest/meta-data/instance-id`). Returns whatever status answered (404 for an absent
    /// path; 401 only if a fresh token was refused too).
    ///
    /// - Throws: ``IMDSError``.
    public func get(_ path: String) async throws -> (status: Int, body: [UInt8]) {
        let token = try await currentToken(replacing: nil)
        let first = try await send(path, token: token)
        guard first.status == 401 else { return (first.status, first.body) }
        let fresh = try await currentToken(replacing: token)
        let second = try await send(path, token: fresh)
        return (second.status, second.body)
    }

    /// Forgets the cached token (the next request fetches one).
    public func invalidateToken() {
        state.withLock { state in
            state.token = nil
            state.validUntil = 0
        }
    }

    // MARK: Internals

    private func send(_ path: String, token: String) async throws(IMDSError) -> HTTPResponse {
        let request = HTTPRequest(method: "GET", url: endpoint + path, headers: [("X-aws-ec2-metadata-token", token)])
        do {
            return try await httpClient.execute(request, sink: .memory(limit: 1 << 20), timeouts: timeouts, progress: nil)
        } catch {
            if error.kind == .cancelled { throw IMDSError(.cancelled, "the IMDS request was cancelled") }
            throw IMDSError(.requestFailed, "IMDS GET \(path) at \(endpoint) failed: \(error)")
        }
    }

    /// The cached token unless it is `stale` (just refused) or near its end; else one fetch,
    /// shared by every concurrent caller.
    private func currentToken(replacing stale: String?) async throws -> String {
        let now = self.now()
        enum Next {
            case ready(String)
            case wait(Task<String, any Error>)
        }
        let next: Next = state.withLock { state in
            if let token = state.token, token != stale, now < state.validUntil { return .ready(token) }
            if let inflight = state.inflight { return .wait(inflight) }
            let task = Task { try await self.fetchToken() }
            state.inflight = task
            return .wait(task)
        }
        switch next {
        case .ready(let token): return token
        case .wait(let task): return try await task.value
        }
    }

    /// Runs inside the shared task: one `PUT /latest/api/token`, then publishes the result.
    private func fetchToken() async throws -> String {
        let requestedAt = now()
        let result: Result<String, IMDSError>
        do {
            let response = try await httpClient.execute(
                HTTPRequest(
                    method: "PUT", url: endpoint + "/latest/api/token",
                    headers: [("X-aws-ec2-metadata-token-ttl-seconds", String(tokenTTLSeconds))]),
                sink: .memory(limit: 64 * 1024), timeouts: timeouts, progress: nil)
            let token = CredentialText.trimmed(String(decoding: response.body, as: UTF8.self))
            if response.status == 200, !token.isEmpty {
                result = .success(token)
            } else {
                let reason = switch response.status {
                case 403: "IMDS is disabled for this instance"
                case 404, 405: "this endpoint does not offer IMDSv2 tokens"
                case 400: "the token TTL was refused"
                default: "unexpected response"
                }
                result = .failure(IMDSError(
                    .tokenRefused, status: response.status,
                    "the IMDS token request at \(endpoint) got HTTP \(response.status): \(reason)"))
            }
        } catch {
            result = .failure(
                error.kind == .cancelled
                    ? IMDSError(.cancelled, "the IMDS token request was cancelled")
                    : IMDSError(.unreachable, "IMDS at \(endpoint) is unreachable: \(error)"))
        }
        let ttl = Double(tokenTTLSeconds)
        return try state.withLock { (state: inout State) throws(IMDSError) -> String in
            state.inflight = nil
            let token = try result.get()
            state.token = token
            // Reuse it until 60 s before its TTL ends (very short TTLs: until half-way).
            state.validUntil = requestedAt + (ttl > 120 ? ttl - 60 : ttl / 2)
            return token
        }
    }
}
