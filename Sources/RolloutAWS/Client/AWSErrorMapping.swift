public import AWSConfig
public import CurlHTTP
public import RolloutCore

/// How a failed attempt ended: an HTTP error response, or no response at all.
public enum AWSAttemptFailure: Sendable {
    /// The service answered with an error.
    case response(AWSServiceError)
    /// The exchange failed below HTTP (connect, reset, timeout, ...).
    case transport(HTTPError)

    /// How it counts for retries.
    public var retryClass: RetryFailureClass {
        switch self {
        case .response(let error): RetryClassifier.classify(httpStatus: error.httpStatus, errorCodes: error.allCodes)
        case .transport(let error): RetryClassifier.classify(transport: error.kind)
        }
    }

    /// The server's `x-amz-retry-after`.
    public var retryAfter: Duration? {
        if case .response(let error) = self { return error.retryAfter }
        return nil
    }
}

/// The final failure of an AWS call as a `RolloutError` (SPEC §3.1), with
/// `data.upstream = {service, code, httpStatus, requestId}` and, for retryable failures,
/// `data.retryAfterMs`.
///
/// | upstream | error |
/// |---|---|
/// | a throttling code (``RetryClassifier/throttlingCodes``), HTTP 429, S3 `SlowDown` 503 | Throttled (recoverable), `retryAfterMs` |
/// | ``notFoundCodes``, HTTP 404 | NotFound |
/// | ``accessDeniedCodes`` (`DecryptionFailure` included), HTTP 401/403 | AccessDenied |
/// | ``preconditionCodes``, HTTP 412, HTTP 304 (conditional GET) | PreconditionFailed |
/// | ``conflictCodes`` | Conflict |
/// | ``tooLargeCodes``, HTTP 413 | TooLarge |
/// | ``invalidRequestCodes`` | InvalidParams (-32602) "AWS rejected the request: Code: Message" |
/// | a transient code, HTTP 5xx, connect/reset/timeout | Unavailable (recoverable), `retryAfterMs` |
/// | any other response (4xx, 3xx) | InvalidParams "AWS rejected the request: ..." (fatal) |
/// | response over the sink's limit | TooLarge |
/// | cancelled | RequestCancelled |
/// | local failure (unreadable body file, bad URL) | InternalError |
///
/// Messages name the service, the operation, the upstream code and message, the HTTP status
/// and the request id; never credentials, request bodies or response bodies.
public enum AWSErrorMapping {
    /// Codes that mean the resource does not exist.
    public static let notFoundCodes: Set<String> = [
        "ResourceNotFoundException", "NoSuchKey", "NoSuchBucket", "NotFound", "NoSuchUpload", "NoSuchVersion",
        "AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist", "NoSuchEntity", "DeploymentDoesNotExistException",
        "ApplicationDoesNotExistException", "DeploymentGroupDoesNotExistException", "NotFoundException",
        "DeploymentConfigDoesNotExistException",
    ]

    /// Codes that mean AWS refused our identity or its permissions.
    public static let accessDeniedCodes: Set<String> = [
        "AccessDenied", "AccessDeniedException", "UnrecognizedClientException", "InvalidClientTokenId",
        "SignatureDoesNotMatch", "ExpiredToken", "ExpiredTokenException", "InvalidAccessKeyId",
        "InvalidSignatureException", "IncompleteSignature", "MissingAuthenticationToken",
        "MissingAuthenticationTokenException", "InvalidToken", "AuthFailure", "AuthorizationError",
        "RequestTimeTooSkewed", "RequestExpired", "DecryptionFailure", "KMSAccessDeniedException",
        "AllAccessDisabled",
    ]

    /// Codes of failed conditions.
    public static let preconditionCodes: Set<String> = [
        "DeploymentAlreadyCompletedException", "LifecycleEventAlreadyCompletedException", "PreconditionFailed",
    ]

    /// Codes of a change that collides with one already under way (CodeDeploy's one active
    /// deployment per group).
    public static let conflictCodes: Set<String> = ["DeploymentLimitExceededException", "DeploymentAlreadyStartedException"]

    /// Codes of bodies or entities over a service limit.
    public static let tooLargeCodes: Set<String> = ["EntityTooLarge", "RequestEntityTooLargeException"]

    /// Codes of requests the service found invalid.
    public static let invalidRequestCodes: Set<String> = [
        "InvalidParameterException", "ValidationException", "InvalidRequestException", "ValidationError",
        "InvalidParameterValue", "InvalidParameterValueException", "InvalidParameterCombination", "MissingParameter",
        "InvalidArgument", "MalformedXML", "InvalidInput", "SerializationException",
        "AWS.SimpleQueueService.InvalidBatchEntryId", "InvalidAttributeValue", "InvalidAttributeName",
    ]

    /// The `RolloutError` for `failure`, the last attempt of `operation` on `service`, after
    /// retrying stopped as `stop` says.
    public static func rolloutError(
        service: AWSService, operation: String, failure: AWSAttemptFailure, stop: RetryStop
    ) -> RolloutError {
        let call = "\(service.serviceID) \(operation)"
        let attempts = stop.attempts == 1 ? "1 attempt" : "\(stop.attempts) attempts"
        let quota = stop.reason == .quotaExhausted ? ", retry quota exhausted" : ""
        switch failure {
        case .transport(let error):
            var data: JSONObject = ["upstream": .object(["service": .string(service.explainKey)])]
            switch error.kind {
            case .cancelled:
                return .cancelled
            case .tooLarge:
                return RolloutError(.tooLarge, "\(call): the response is larger than allowed (\(error.message))", data: data)
            case .local:
                return .internalError("\(call) could not be sent: \(error.message)")
            case .connect, .io, .timeout:
                if let hint = stop.backoffHint { data["retryAfterMs"] = .number(JSONNumber(hint.wholeMillisecondsRoundedUp)) }
                let what = switch error.kind {
                case .connect: "could not connect"
                case .timeout: "timed out"
                default: "connection failed"
                }
                return RolloutError(.unavailable, "\(call) \(what) after \(attempts)\(quota): \(error.message)", data: data)
            }
        case .response(let error):
            var upstream: JSONObject = ["service": .string(service.explainKey)]
            if let code = error.code { upstream["code"] = .string(code) }
            if (100...599).contains(error.httpStatus) { upstream["httpStatus"] = .number(JSONNumber(error.httpStatus)) }
            if let requestId = error.requestId { upstream["requestId"] = .string(requestId) }
            // An answer to a retry: what an earlier attempt did is unknown (its response may have
            // been lost after the service acted), so a conditional request can fail on its own write.
            if stop.attempts > 1 { upstream["attempts"] = .number(JSONNumber(stop.attempts)) }
            var data: JSONObject = ["upstream": .object(upstream)]
            let detail = describe(error)
            let codes = error.allCodes
            func has(_ set: Set<String>) -> Bool { codes.contains(where: set.contains) }

            let failureClass = failure.retryClass
            if failureClass == .throttling {
                let hint = stop.backoffHint ?? .seconds(1)
                data["retryAfterMs"] = .number(JSONNumber(hint.wholeMillisecondsRoundedUp))
                return RolloutError(
                    .throttled,
                    "\(call) was throttled after \(attempts)\(quota): \(detail); retry in \(hint.wholeMillisecondsRoundedUp) ms",
                    data: data
                )
            }
            if has(notFoundCodes) { return RolloutError(.notFound, "\(call) failed: \(detail)", data: data) }
            if has(accessDeniedCodes) {
                return RolloutError(.accessDenied, "\(call) was denied: \(detail)", data: data)
            }
            if has(preconditionCodes) || error.httpStatus == 412 || error.httpStatus == 304 {
                return RolloutError(.preconditionFailed, "\(call): precondition failed: \(detail)", data: data)
            }
            if has(conflictCodes) { return RolloutError(.conflict, "\(call) failed: \(detail)", data: data) }
            if has(tooLargeCodes) || error.httpStatus == 413 {
                return RolloutError(.tooLarge, "\(call) failed: \(detail)", data: data)
            }
            if has(invalidRequestCodes) {
                return RolloutError(.invalidParams, "AWS rejected the request: \(detail) (\(call))", data: data)
            }
            if failureClass.isRetryable || error.httpStatus >= 500 {
                if let hint = stop.backoffHint { data["retryAfterMs"] = .number(JSONNumber(hint.wholeMillisecondsRoundedUp)) }
                return RolloutError(.unavailable, "\(call) failed after \(attempts)\(quota): \(detail)", data: data)
            }
            switch error.httpStatus {
            case 404: return RolloutError(.notFound, "\(call) failed: \(detail)", data: data)
            case 401, 403: return RolloutError(.accessDenied, "\(call) was denied: \(detail)", data: data)
            default: return RolloutError(.invalidParams, "AWS rejected the request: \(detail) (\(call))", data: data)
            }
        }
    }

    /// `Code: message (HTTP 404, request id X)`.
    static func describe(_ error: AWSServiceError) -> String {
        var text = error.code ?? "HTTP \(error.httpStatus)"
        if let message = error.message, !message.isEmpty { text += ": \(message)" }
        var details: [String] = []
        if error.code != nil { details.append("HTTP \(error.httpStatus)") }
        if let requestId = error.requestId { details.append("request id \(requestId)") }
        if !details.isEmpty { text += " (\(details.joined(separator: ", ")))" }
        return text
    }
}
