public import CurlHTTP
import RolloutCore

/// An AWS error response, parsed from whichever protocol the service speaks:
///
/// - AWS JSON 1.0/1.1 and rest-json: `{"__type": "com.amazonaws.sqs#QueueDoesNotExist",
///   "message": "..."}` (the namespace before `#` and anything after `:` are dropped;
///   `message`, `Message` or `errorMessage`); the `x-amzn-query-error: Code;Sender` header of
///   query-compatible services (SQS) and rest-json's `x-amzn-errortype` header win over the body.
/// - XML (S3, Query protocol: STS, SNS, CloudWatch): `<Error><Code/><Message/><RequestId/></Error>`,
///   alone or nested (`<ErrorResponse><Error>...</Error><RequestId/></ErrorResponse>`,
///   EC2's `<Response><Errors><Error>`).
/// - No body (S3 HEAD): only the status.
public struct AWSServiceError: Sendable, Hashable {
    /// The HTTP status.
    public var httpStatus: Int
    /// The error code reported upstream (`ResourceNotFoundException`, `NoSuchKey`, ...), when
    /// the response named one.
    public var code: String?
    /// Other spellings found in the same response (SQS's `__type` next to the legacy code in
    /// `x-amzn-query-error`); classification looks at all of them.
    public var alternateCodes: [String]
    /// The service's message, trimmed to ``maxMessageLength`` characters without control
    /// characters.
    public var message: String?
    /// `x-amzn-requestid`, `x-amz-request-id` or the body's `RequestId`.
    public var requestId: String?
    /// `x-amz-retry-after`, in milliseconds on the wire.
    public var retryAfter: Duration?

    /// The longest upstream message kept.
    public static let maxMessageLength = 300

    /// An error from its parts.
    public init(
        httpStatus: Int, code: String?, alternateCodes: [String] = [], message: String? = nil,
        requestId: String? = nil, retryAfter: Duration? = nil
    ) {
        self.httpStatus = httpStatus
        self.code = code
        self.alternateCodes = alternateCodes
        self.message = message.map(Self.sanitized)
        self.requestId = requestId
        self.retryAfter = retryAfter
    }

    /// ``code`` followed by ``alternateCodes``.
    public var allCodes: [String] {
        (code.map { [$0] } ?? []) + alternateCodes
    }

    /// Parses the error in `response`, whose body is `body` (the response's own body for
    /// memory sinks; the start of the file for file sinks).
    public static func parse(_ response: HTTPResponse, body: [UInt8]) -> AWSServiceError {
        var headerCodes: [String] = []
        if let queryError = response.header("x-amzn-query-error"),
           let legacy = queryError.split(separator: ";", omittingEmptySubsequences: false).first,
           !legacy.isEmpty
        {
            headerCodes.append(String(legacy).trimmingASCIIWhitespace)
        }
        if let errorType = response.header("x-amzn-errortype") {
            let code = sanitizedCode(errorType)
            if !code.isEmpty { headerCodes.append(code) }
        }
        var bodyCode: String?
        var message: String?
        var bodyRequestId: String?
        let start = body.firstIndex { !($0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D) } ?? body.endIndex
        if start < body.endIndex, body[start] == UInt8(ascii: "{"), let json = try? JSONParser.parse(body) {
            let rawCode = json["__type"]?.stringValue ?? json["code"]?.stringValue ?? json["Code"]?.stringValue
            bodyCode = rawCode.map(sanitizedCode).flatMap { $0.isEmpty ? nil : $0 }
            message = json["message"]?.stringValue ?? json["Message"]?.stringValue ?? json["errorMessage"]?.stringValue
        } else if start < body.endIndex, body[start] == UInt8(ascii: "<"), let root = try? AWSXML.parse(body) {
            let error = root.firstDescendant("Error")
            bodyCode = error?.childText("Code").map { $0.trimmingASCIIWhitespace }.flatMap { $0.isEmpty ? nil : $0 }
            message = error?.childText("Message")
            bodyRequestId = error?.childText("RequestId") ?? root.childText("RequestId") ?? root.childText("RequestID")
        }
        var codes = headerCodes
        if let bodyCode, !codes.contains(bodyCode) { codes.append(bodyCode) }
        let retryAfter = response.header("x-amz-retry-after")
            .flatMap { Int64($0.trimmingASCIIWhitespace) }
            .flatMap { $0 >= 0 ? Duration.milliseconds($0) : nil }
        return AWSServiceError(
            httpStatus: response.status,
            code: codes.first,
            alternateCodes: Array(codes.dropFirst()),
            message: message,
            requestId: requestId(in: response) ?? bodyRequestId.map { $0.trimmingASCIIWhitespace },
            retryAfter: retryAfter
        )
    }

    /// The request id from the response headers: `x-amzn-requestid` (JSON services),
    /// `x-amz-request-id` (S3), `x-amzn-request-id`.
    public static func requestId(in response: HTTPResponse) -> String? {
        response.header("x-amzn-requestid") ?? response.header("x-amz-request-id") ?? response.header("x-amzn-request-id")
    }

    /// `aws.protocoltests#FooError:http://internal/` → `FooError`.
    static func sanitizedCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return String(code).trimmingASCIIWhitespace
    }

    static func sanitized(_ message: String) -> String {
        var out = ""
        var count = 0
        for scalar in message.unicodeScalars {
            if count == maxMessageLength {
                out += "…"
                break
            }
            let isControl = scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
            out.unicodeScalars.append(isControl ? " " : scalar)
            count += 1
        }
        return out.trimmingASCIIWhitespace
    }
}

extension String {
    /// Without leading and trailing spaces, tabs, CRs and LFs.
    fileprivate var trimmingASCIIWhitespace: String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}
