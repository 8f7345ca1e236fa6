import AWSSigV4
import Glibc

/// SigV4 signatures per second on one thread.
struct SigV4Result {
    var signatures: Int
    var seconds: Double
    /// Our Authorization header for the request at ``SigV4Benchmark/referenceEpoch``.
    var referenceAuthorization: String

    var signaturesPerSecond: Double { Double(signatures) / seconds }
}

/// The request both signers sign: a representative S3 UploadPart. bench/botocore_sign_rate.py
/// builds the same one for botocore; keep the two in step (the run compares their signatures).
enum SigV4Benchmark {
    static let host = "s3.us-east-1.amazonaws.com"
    static let partSize = 8 * 1024 * 1024
    /// SHA-256 of `partSize` zero bytes: hex for the payload hash, base64 for the checksum header.
    static let payloadSHA256Hex = "2daeb1f36095b44b318410b3f4e8b5d989dcc7bb023d1426c492dab0a3053e74"
    static let payloadSHA256Base64 = "La6x82CVtEsxhBCz9Oi12Yncx7sCPRQmxJLasKMFPnQ="
    /// 2023-11-14T22:13:20Z.
    static let referenceEpoch: Int64 = 1_700_000_000

    static let credentials = AWSCredentials(
        accessKeyId: "AKIDEXAMPLE",
        secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        // 401 characters, like an STS session token.
        sessionToken: "IQoJb3JpZ2luX2VjE" + String(repeating: "EXAMPLEtoken0123", count: 24)
    )

    static func request() -> SigningRequest {
        SigningRequest(
            method: "PUT",
            host: host,
            path: "/bucket/some/key%20with%20space",
            query: [(name: "partNumber", value: "7"), (name: "uploadId", value: "abc")],
            headers: [
                (name: "host", value: host),
                (name: "content-length", value: String(partSize)),
                (name: "x-amz-checksum-sha256", value: payloadSHA256Base64),
            ]
        )
    }
}

/// Signs the benchmark request in a loop for about `seconds` (after 0.1 s of warm-up), as a client
/// would for each request: a fresh copy of the request, the date from the wall clock, one signer
/// (and so its per-day signing key cache) for the whole run.
func measureSigV4(seconds: Double) -> SigV4Result {
    let signer = SigV4Signer(credentials: SigV4Benchmark.credentials, region: "us-east-1", service: "s3")
    let template = SigV4Benchmark.request()
    let payloadHash = PayloadHash.sha256(hex: SigV4Benchmark.payloadSHA256Hex)
    var sink = 0

    @inline(__always)
    func signOnce() {
        var request = template
        signer.sign(&request, payloadHash: payloadHash, date: SigningDate(secondsSinceEpoch: Int64(time(nil))))
        sink &+= request.headers[request.headers.count - 1].value.utf8.count
    }

    let warmEnd = monotonicNanos() + 100_000_000
    while monotonicNanos() < warmEnd {
        for _ in 0..<64 { signOnce() }
    }
    var count = 0
    let start = monotonicNanos()
    let end = start + UInt64(seconds * 1e9)
    var now = start
    while now < end {
        for _ in 0..<64 { signOnce() }
        count += 64
        now = monotonicNanos()
    }
    let elapsed = Double(now - start) / 1e9

    var reference = template
    signer.sign(&reference, payloadHash: payloadHash, date: SigningDate(secondsSinceEpoch: SigV4Benchmark.referenceEpoch))
    // Keeps the loop's results observable, so none of the signing can be optimized away.
    if sink == 42 { printError("") }
    return SigV4Result(
        signatures: count, seconds: elapsed, referenceAuthorization: reference.headerValue("authorization") ?? "")
}
