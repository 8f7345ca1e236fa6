public import AWSConfig
public import CurlHTTP
public import Logging
public import RolloutCore
import AWSSigV4
import Glibc
import RolloutSystem
import Synchronization

/// The core every AWS service client is built on: one service at one endpoint and region.
///
/// ``send(_:sink:timeouts:progress:)`` signs a request with SigV4, sends it through the
/// ``HTTPClient``, classifies the outcome, retries in AWS standard mode (``RetryPolicy``,
/// ``RetryState``; one ``RetryTokenBucket`` per client) and turns the final failure into a
/// `RolloutError` (``AWSErrorMapping``). Protocol helpers: ``jsonCall(target:jsonVersion:body:)``
/// for AWS JSON 1.0/1.1 and ``queryCall(action:version:params:)`` for the Query protocol.
///
/// Credentials are asked for before every attempt; a signer (with its per-day signing key) is
/// kept while they stay the same.
public final class AWSClient: Sendable {
    /// The service called.
    public let service: AWSService
    /// Where requests go.
    public let endpoint: AWSEndpoint
    /// The region requests are signed for.
    public let region: String
    /// The retry settings.
    public let retryPolicy: RetryPolicy

    private let credentialSource: any CredentialSource
    private let http: any HTTPClient
    private let environment: AWSClientEnvironment
    private let logger: Logger?
    private let bucket: Mutex<RetryTokenBucket>
    private let signer = Mutex<SigV4Signer?>(nil)

    /// The largest error body read back from a file sink to find the error code.
    private static let maxErrorBodyBytes = 64 << 10

    /// A client for `service` at `endpointURL` (kept with any path prefix), signing for
    /// `region`. ConfigInvalid when the URL is not `http(s)://host[:port][/path]` or the
    /// region is empty. `logger` gets one debug line per retry (operation, upstream code,
    /// attempt, backoff; never bodies or credentials).
    public init(
        service: AWSService,
        endpointURL: String,
        region: String,
        credentials: any CredentialSource,
        http: any HTTPClient,
        retryPolicy: RetryPolicy = .standard(),
        environment: AWSClientEnvironment = .live,
        logger: Logger? = nil
    ) throws(RolloutError) {
        guard !region.isEmpty else {
            throw RolloutError(.configInvalid, "no AWS region for \(service.serviceID): set [cloud] region or AWS_REGION")
        }
        self.service = service
        self.endpoint = try AWSEndpoint(url: endpointURL)
        self.region = region
        self.retryPolicy = retryPolicy
        self.credentialSource = credentials
        self.http = http
        self.environment = environment
        self.logger = logger
        self.bucket = Mutex(RetryTokenBucket(policy: retryPolicy))
    }

    /// A client for the endpoint and region `resolved` (SPEC §2.1). ConfigInvalid when either
    /// is missing.
    public convenience init(
        endpoint resolved: ResolvedEndpoint,
        credentials: any CredentialSource,
        http: any HTTPClient,
        retryPolicy: RetryPolicy = .standard(),
        environment: AWSClientEnvironment = .live,
        logger: Logger? = nil
    ) throws(RolloutError) {
        guard let region = resolved.region else {
            throw RolloutError(
                .configInvalid,
                "no AWS region for \(resolved.service.serviceID): set [cloud] region, \(resolved.service.regionVariable) or AWS_REGION"
            )
        }
        guard let url = resolved.endpointURL else {
            throw RolloutError(.configInvalid, "no endpoint URL for \(resolved.service.serviceID)")
        }
        try self.init(
            service: resolved.service, endpointURL: url, region: region, credentials: credentials, http: http,
            retryPolicy: retryPolicy, environment: environment, logger: logger
        )
    }

    /// Tokens left in this client's retry bucket.
    public var retryTokensAvailable: Int {
        bucket.withLock { $0.available }
    }

    /// Sends `request`, retrying retryable failures, and returns the first 2xx response (or
    /// error response whose code the request accepts, ``AWSRequest/acceptedErrorCodes``).
    ///
    /// - Parameters:
    ///   - sink: where the response body goes. A file sink is truncated by every attempt; on
    ///     an error response its first 64 KiB are read back to find the error code.
    ///   - timeouts: per attempt.
    ///   - progress: bytes sent and received; restarts from zero on a retry.
    /// - Throws: the final failure as a `RolloutError` (see ``AWSErrorMapping``);
    ///   RequestCancelled when the calling task is cancelled.
    public func send(
        _ request: AWSRequest,
        sink: HTTPResponseSink = .memory(limit: 16 << 20),
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        progress: HTTPProgress? = nil
    ) async throws(RolloutError) -> HTTPResponse {
        var metrics = AWSCallMetrics(service: service.servicesSectionKey, operation: request.operation)
        defer { metrics.record() }
        let payloadHash = try payloadHash(for: request)
        var state = RetryState(policy: retryPolicy, isLongPoll: request.isLongPoll)
        while true {
            if Task.isCancelled {
                metrics.status = "cancelled"
                throw .cancelled
            }
            let httpRequest = try await signedRequest(request, payloadHash: payloadHash)
            let failure: AWSAttemptFailure
            do {
                let response = try await http.execute(httpRequest, sink: sink, timeouts: timeouts, progress: progress)
                metrics.status = "\(response.status)"
                if let error = errorInResponse(response, sink: sink, request: request),
                    !error.allCodes.contains(where: request.acceptedErrorCodes.contains)
                {
                    failure = .response(error)
                } else {
                    bucket.withLock { state.recordSuccess(bucket: &$0) }
                    return response
                }
            } catch {
                if error.kind == .cancelled || Task.isCancelled {
                    metrics.status = "cancelled"
                    throw .cancelled
                }
                metrics.status = "transport"
                failure = .transport(error)
            }
            let jitter = environment.jitter()
            let retryFailure = RetryFailure(failure.retryClass, retryAfter: failure.retryAfter)
            let decision = bucket.withLock { state.recordFailure(retryFailure, bucket: &$0, jitter: jitter) }
            switch decision {
            case .retry(let delay, let attempt):
                metrics.retries += 1
                logger?.debug(
                    "retrying AWS call",
                    metadata: [
                        "service": "\(service.explainKey)", "operation": "\(request.operation)",
                        "failure": "\(Self.summary(of: failure))", "attempt": "\(attempt)/\(retryPolicy.maxAttempts)",
                        "backoffMs": "\(delay.wholeMillisecondsRoundedUp)",
                    ]
                )
                try await sleep(delay)
            case .fail(let stop):
                if stop.delayBeforeFailing > .zero { try await sleep(stop.delayBeforeFailing) }
                throw AWSErrorMapping.rolloutError(service: service, operation: request.operation, failure: failure, stop: stop)
            }
        }
    }

    // MARK: Attempts

    private func payloadHash(for request: AWSRequest) throws(RolloutError) -> PayloadHash {
        if let hash = request.payloadHash { return hash }
        switch request.body {
        case .empty: return .emptyBody
        case .bytes(let bytes): return .sha256(of: bytes)
        case .file, .stream:
            throw .internalError("\(service.serviceID) \(request.operation): a file or stream body needs a precomputed payload hash")
        }
    }

    /// The wire request for one attempt, signed now with the current credentials (or left
    /// unsigned when the request says so).
    private func signedRequest(_ request: AWSRequest, payloadHash: PayloadHash) async throws(RolloutError) -> HTTPRequest {
        var signing = SigningRequest(
            method: request.method, scheme: endpoint.scheme, host: endpoint.host,
            path: endpoint.joinedPath(request.path), query: request.query, headers: request.headers
        )
        if request.isUnsigned {
            if signing.headerValue("host") == nil { signing.headers.append((name: "host", value: endpoint.host)) }
        } else {
            let signer = try await currentSigner(operation: request.operation)
            signer.sign(&signing, payloadHash: payloadHash, date: SigningDate(timeIntervalSince1970: environment.wallClock()))
        }
        return HTTPRequest(method: request.method, url: signing.wireURL(), headers: signing.headers, body: request.body)
    }

    private func currentSigner(operation: String) async throws(RolloutError) -> SigV4Signer {
        let credentials: AWSCredentials
        do {
            credentials = try await credentialSource.credentials()
        } catch let error as RolloutError {
            throw error
        } catch is CancellationError {
            throw .cancelled
        } catch {
            throw RolloutError(
                .unavailable,
                "\(service.serviceID) \(operation): loading AWS credentials failed (\(type(of: error)))",
                data: ["upstream": .object(["service": .string(service.explainKey)])]
            )
        }
        return signer.withLock { cached in
            if let signer = cached, signer.credentials == credentials { return signer }
            let signer = SigV4Signer(credentials: credentials, region: region, service: service.signingName)
            cached = signer
            return signer
        }
    }

    /// The parsed error when `response` is a failure: any status outside 2xx, or (when the
    /// request asks for it) a 2xx whose body is an `<Error>` document, which counts as a 500
    /// the way botocore treats S3's "200 with an error" (so it is retried).
    private func errorInResponse(_ response: HTTPResponse, sink: HTTPResponseSink, request: AWSRequest) -> AWSServiceError? {
        if (200..<300).contains(response.status) {
            guard request.detectsErrorInSuccessBody, case .memory = sink,
                  let root = try? AWSXML.parse(response.body), root.name == "Error"
            else { return nil }
            var error = AWSServiceError.parse(response, body: response.body)
            error.httpStatus = 500
            return error
        }
        let body: [UInt8] = switch sink {
        case .memory: response.body
        case .file(let temporary): Self.readPrefix(of: temporary.file, limit: Self.maxErrorBodyBytes)
        }
        return AWSServiceError.parse(response, body: body)
    }

    /// `ThrottlingException (HTTP 400)` or `connect`, for logs.
    private static func summary(of failure: AWSAttemptFailure) -> String {
        switch failure {
        case .response(let error): "\(error.code ?? "HTTP") (HTTP \(error.httpStatus))"
        case .transport(let error): "\(error.kind)"
        }
    }

    private func sleep(_ duration: Duration) async throws(RolloutError) {
        do {
            try await environment.sleep(duration)
        } catch {
            throw .cancelled
        }
    }

    /// The first `limit` bytes of `file` (empty when it cannot be read).
    private static func readPrefix(of file: FileDescriptor, limit: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: limit)
        var filled = 0
        while filled < limit {
            let count = (try? bytes.withUnsafeMutableBytes { buffer throws(SystemError) in
                try file.read(into: UnsafeMutableRawBufferPointer(rebasing: buffer[filled...]), at: Int64(filled))
            }) ?? 0
            if count <= 0 { break }
            filled += count
        }
        return Array(bytes.prefix(filled))
    }
}
