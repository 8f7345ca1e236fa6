public import AWSSigV4
public import CurlHTTP

/// One AWS API call before signing: what ``AWSClient/send(_:sink:timeouts:progress:)`` sends
/// (and re-sends, byte for byte, on retries).
public struct AWSRequest: Sendable {
    /// The API operation, e.g. `GetSecretValue`, `UploadPart`: named in error messages.
    public var operation: String
    /// `GET`, `PUT`, `POST`, ...
    public var method: String
    /// The path relative to the endpoint, already percent-encoded for the wire (build it with
    /// `SigV4Signer.encodePath`), starting with `/`.
    public var path: String
    /// Raw (unencoded) query parameters; the signer encodes and orders them.
    public var query: [(name: String, value: String)]
    /// Header fields to send and sign (the client adds `host`, `x-amz-date`,
    /// `x-amz-security-token`, `authorization` and, for S3, `x-amz-content-sha256`).
    public var headers: [(name: String, value: String)]
    /// The body.
    public var body: HTTPRequestBody
    /// The body's payload hash. Nil: computed for in-memory bodies (empty or bytes); file
    /// bodies must bring one (their SHA-256, computed while hashing the part, or
    /// `PayloadHash.unsigned` for S3 over TLS).
    public var payloadHash: PayloadHash?
    /// A long poll (SQS ReceiveMessage with a wait): when the retry bucket is empty the client
    /// still waits one backoff before failing, so a polling loop cannot spin.
    public var isLongPoll: Bool
    /// Sent without SigV4 (STS `AssumeRoleWithWebIdentity`): no credentials are loaded.
    public var isUnsigned: Bool
    /// A 2xx response whose in-memory body is an `<Error>` document is a failure (S3
    /// `CompleteMultipartUpload`, `CopyObject`); it counts as a 500 and is retried.
    public var detectsErrorInSuccessBody: Bool
    /// Error codes that are answers, not failures: a response with one of them is returned by
    /// ``AWSClient/send(_:sink:timeouts:progress:)`` as it came (not retried, not mapped), so
    /// the caller can read what its body carries (DynamoDB's `ConditionalCheckFailedException`
    /// with the item that failed the condition, `TransactionCanceledException` with its
    /// reasons). Only for codes that are not retryable.
    public var acceptedErrorCodes: Set<String> = []

    /// A request from its parts.
    public init(
        operation: String,
        method: String,
        path: String = "/",
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: HTTPRequestBody = .empty,
        payloadHash: PayloadHash? = nil,
        isLongPoll: Bool = false,
        isUnsigned: Bool = false,
        detectsErrorInSuccessBody: Bool = false
    ) {
        self.operation = operation
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.payloadHash = payloadHash
        self.isLongPoll = isLongPoll
        self.isUnsigned = isUnsigned
        self.detectsErrorInSuccessBody = detectsErrorInSuccessBody
    }
}
