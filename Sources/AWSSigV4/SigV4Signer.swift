internal import RolloutCrypto

/// Signs requests with AWS Signature Version 4 (`AWS4-HMAC-SHA256` in the Authorization header)
/// for one set of credentials, region and service.
///
/// The rules follow botocore byte for byte (`SigV4Auth`, and `S3SigV4Auth` when the service is
/// `s3`): see the module's tests for the published vectors and the randomized cross-check.
/// The derived signing key is cached per day and shared by copies of the signer.
///
/// Two botocore quirks are deliberately not copied: a `Date` header is signed as an ordinary
/// header (botocore rewrites it and then omits `x-amz-date`), and an `x-amz-content-sha256`
/// header sent to a service other than S3 is an ordinary header (botocore signs its value as the
/// payload hash). Header values are trimmed of ASCII whitespace only.
public struct SigV4Signer: Sendable {
    /// The credentials requests are signed with.
    public let credentials: AWSCredentials
    /// The region in the credential scope, e.g. `us-east-1`.
    public let region: String
    /// The signing name of the service in the credential scope, e.g. `s3`, `sqs`, `lambda`.
    public let service: String

    /// S3 rules: the canonical URI is the wire path unchanged, and `x-amz-content-sha256` is sent.
    private let isS3: Bool
    /// `/<region>/<service>/aws4_request`, the credential scope after the date.
    private let scopeSuffix: [UInt8]
    private let keyCache = SigningKeyCache()

    /// A signer for `service` in `region`. S3 rules apply when `service` is `s3`.
    public init(credentials: AWSCredentials, region: String, service: String) {
        self.credentials = credentials
        self.region = region
        self.service = service
        self.isS3 = service == "s3"
        self.scopeSuffix = Array("/\(region)/\(service)/aws4_request".utf8)
    }

    /// Signs `request` in place: removes any `authorization`, sets `x-amz-date`,
    /// `x-amz-security-token` (when the credentials have a session token) and, for S3,
    /// `x-amz-content-sha256`; adds `host` when absent; then appends `authorization`.
    ///
    /// - Parameters:
    ///   - payloadHash: the body's SHA-256, ``PayloadHash/emptyBody``, or (S3 over TLS only)
    ///     ``PayloadHash/unsigned``.
    ///   - date: the signing instant; AWS rejects requests more than 5 minutes off its clock.
    public func sign(_ request: inout SigningRequest, payloadHash: PayloadHash, date: SigningDate) {
        addSigningHeaders(to: &request, payloadHash: payloadHash, date: date)
        var signedHeaders: [UInt8] = []
        let canonicalRequest = canonicalRequestBytes(request, payloadHash: payloadHash, signedHeaders: &signedHeaders)
        let signature = signatureBytes(
            stringToSign: stringToSignBytes(canonicalRequestHash: Digest.sha256(canonicalRequest), date: date),
            date: date
        )
        var authorization: [UInt8] = []
        authorization.reserveCapacity(160 + credentials.accessKeyId.utf8.count + scopeSuffix.count + signedHeaders.count)
        authorization.append(contentsOf: "AWS4-HMAC-SHA256 Credential=".utf8)
        authorization.append(contentsOf: credentials.accessKeyId.utf8)
        authorization.append(UInt8(ascii: "/"))
        appendScope(date: date, to: &authorization)
        authorization.append(contentsOf: ", SignedHeaders=".utf8)
        authorization.append(contentsOf: signedHeaders)
        authorization.append(contentsOf: ", Signature=".utf8)
        Self.appendHex(signature, to: &authorization)
        request.headers.append((name: "authorization", value: String(decoding: authorization, as: UTF8.self)))
    }

    /// The canonical request ``sign(_:payloadHash:date:)`` would build for `request`, including
    /// the headers signing adds.
    public func canonicalRequest(_ request: SigningRequest, payloadHash: PayloadHash, date: SigningDate) -> String {
        var request = request
        addSigningHeaders(to: &request, payloadHash: payloadHash, date: date)
        var signedHeaders: [UInt8] = []
        return String(
            decoding: canonicalRequestBytes(request, payloadHash: payloadHash, signedHeaders: &signedHeaders),
            as: UTF8.self
        )
    }

    /// `AWS4-HMAC-SHA256\n<amz-date>\n<date>/<region>/<service>/aws4_request\n<hex sha256(creq)>`.
    public func stringToSign(canonicalRequest: String, date: SigningDate) -> String {
        String(
            decoding: stringToSignBytes(canonicalRequestHash: Digest.sha256(canonicalRequest), date: date),
            as: UTF8.self
        )
    }

    /// The hex HMAC-SHA256 of `stringToSign` under the day's signing key.
    public func signature(stringToSign: String, date: SigningDate) -> String {
        var hex: [UInt8] = []
        hex.reserveCapacity(64)
        Self.appendHex(signatureBytes(stringToSign: Array(stringToSign.utf8), date: date), to: &hex)
        return String(decoding: hex, as: UTF8.self)
    }

    /// The signing key for `date`'s day: HMAC chain `"AWS4" + secret` → date → region →
    /// service → `aws4_request`. Cached per day. Chunked (aws-chunked) uploads sign each chunk
    /// with it.
    public func signingKey(date: SigningDate) -> [UInt8] {
        keyCache.key(day: date.day) {
            let dateKey = HMAC.sha256(
                key: Array("AWS4\(credentials.secretAccessKey)".utf8),
                message: Array(date.amzDate.utf8.prefix(8))
            )
            let regionKey = HMAC.sha256(key: dateKey, message: Array(region.utf8))
            let serviceKey = HMAC.sha256(key: regionKey, message: Array(service.utf8))
            return HMAC.sha256(key: serviceKey, message: Array("aws4_request".utf8))
        }
    }

    // MARK: Internals

    private var sessionToken: String? {
        guard let token = credentials.sessionToken, !token.isEmpty else { return nil }
        return token
    }

    private func addSigningHeaders(to request: inout SigningRequest, payloadHash: PayloadHash, date: SigningDate) {
        request.removeHeader("authorization")
        request.setHeader("x-amz-date", date.amzDate)
        if let sessionToken {
            request.setHeader("x-amz-security-token", sessionToken)
        }
        if isS3 {
            request.setHeader("x-amz-content-sha256", payloadHash.value)
        }
        if request.headerValue("host") == nil {
            request.headers.append((name: "host", value: request.host))
        }
    }

    private func canonicalRequestBytes(
        _ request: SigningRequest,
        payloadHash: PayloadHash,
        signedHeaders: inout [UInt8]
    ) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(
            256 + request.path.utf8.count * 2 + request.query.count * 32 + request.headers.count * 48
                + request.headers.reduce(0) { $0 + $1.value.utf8.count }
        )
        signedHeaders.reserveCapacity(request.headers.count * 16)
        Canonical.appendMethod(request.method, to: &out)
        out.append(UInt8(ascii: "\n"))
        Canonical.appendURI(request.path, normalizing: !isS3, to: &out)
        out.append(UInt8(ascii: "\n"))
        Canonical.appendQuery(request.query, to: &out)
        out.append(UInt8(ascii: "\n"))
        Canonical.appendHeaders(request.headers, canonical: &out, signed: &signedHeaders)
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: signedHeaders)
        out.append(UInt8(ascii: "\n"))
        out.append(contentsOf: payloadHash.value.utf8)
        return out
    }

    private func stringToSignBytes(canonicalRequestHash: [UInt8], date: SigningDate) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(64 + scopeSuffix.count + 64)
        out.append(contentsOf: "AWS4-HMAC-SHA256\n".utf8)
        out.append(contentsOf: date.amzDate.utf8)
        out.append(UInt8(ascii: "\n"))
        appendScope(date: date, to: &out)
        out.append(UInt8(ascii: "\n"))
        Self.appendHex(canonicalRequestHash, to: &out)
        return out
    }

    private func signatureBytes(stringToSign: [UInt8], date: SigningDate) -> [UInt8] {
        HMAC.sha256(key: signingKey(date: date), message: stringToSign)
    }

    /// `<YYYYMMDD>/<region>/<service>/aws4_request`.
    private func appendScope(date: SigningDate, to out: inout [UInt8]) {
        out.append(contentsOf: date.amzDate.utf8.prefix(8))
        out.append(contentsOf: scopeSuffix)
    }

    private static func appendHex(_ bytes: [UInt8], to out: inout [UInt8]) {
        for byte in bytes {
            out.append(hexDigit(byte >> 4))
            out.append(hexDigit(byte & 0x0F))
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") - 10 + nibble
    }
}

extension SigV4Signer: CustomReflectable {
    /// Credentials (redacted), region and service; never the cached signing key.
    public var customMirror: Mirror {
        Mirror(self, children: ["credentials": credentials, "region": region, "service": service], displayStyle: .struct)
    }
}
