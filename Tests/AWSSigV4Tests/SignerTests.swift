import AWSSigV4
import Testing

@Suite("Signer behaviour beyond the vectors")
struct SignerTests {
    static let credentials = AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    static let date = SigningDate(secondsSinceEpoch: 1_440_938_160)

    @Test("Signing again (a retry) replaces the previous signature instead of adding one")
    func resigning() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: "token"),
            region: "eu-west-1",
            service: "s3"
        )
        var request = SigningRequest(method: "PUT", host: "b.s3.eu-west-1.amazonaws.com", path: "/k")
        signer.sign(&request, payloadHash: .unsigned, date: Self.date)
        let first = request.headers
        #expect(first.map(\.name) == ["x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "host", "authorization"])
        #expect(request.headerValue("x-amz-content-sha256") == "UNSIGNED-PAYLOAD")
        signer.sign(&request, payloadHash: .unsigned, date: Self.date)
        #expect(request.headers.map { "\($0.name): \($0.value)" }.sorted() == first.map { "\($0.name): \($0.value)" }.sorted())

        signer.sign(&request, payloadHash: .unsigned, date: SigningDate(secondsSinceEpoch: 1_440_938_161))
        #expect(request.headerValue("x-amz-date") == "20150830T123601Z")
        #expect(request.headerValue("authorization") != first.last?.value)
    }

    @Test("Only S3 gets x-amz-content-sha256; an empty session token counts as none")
    func addedHeaders() {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKID", secretAccessKey: "secret", sessionToken: ""),
            region: "us-east-1",
            service: "sqs"
        )
        var request = SigningRequest(method: "POST", host: "sqs.us-east-1.amazonaws.com", headers: [("Host", "custom.example")])
        signer.sign(&request, payloadHash: .sha256(of: Array("{}".utf8)), date: Self.date)
        #expect(request.headers.map(\.name) == ["Host", "x-amz-date", "authorization"])
        #expect(request.headerValue("authorization")?.contains("SignedHeaders=host;x-amz-date,") == true)
    }

    @Test("Hop-by-hop and proxy-rewritten headers are never signed; content-length is")
    func unsignedHeaders() {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let names = [
            "Connection", "Expect", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
            "Transfer-Encoding", "Upgrade", "User-Agent", "X-Amzn-Trace-Id", "Content-Length",
        ]
        let request = SigningRequest(method: "PUT", host: "example.amazonaws.com", headers: names.map { ($0, "x") })
        let canonical = signer.canonicalRequest(request, payloadHash: .emptyBody, date: Self.date)
        #expect(canonical.split(separator: "\n").dropLast().last == "content-length;host;x-amz-date")
    }

    @Test("PayloadHash.sha256(of:) hashes the body; the empty body is emptyBody")
    func payloadHash() {
        #expect(PayloadHash.sha256(of: []) == .emptyBody)
        #expect(PayloadHash.sha256(of: Array("Param1=value1".utf8)).value
            == "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e")
        #expect(PayloadHash.sha256(hex: "abc").value == "abc")
    }

    @Test("Copies of a signer share the day's key, across days and concurrent tasks")
    func keyCache() async {
        let signer = SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service")
        let days = (0..<8).map { SigningDate(secondsSinceEpoch: 1_440_938_160 + Int64($0 % 3) * 86_400) }
        let expected = days.map { SigV4Signer(credentials: Self.credentials, region: "us-east-1", service: "service").signingKey(date: $0) }
        #expect(Set(expected.map { $0 }).count == 3)
        let results = await withTaskGroup(of: (Int, [UInt8]).self) { group in
            for round in 0..<200 {
                group.addTask {
                    let index = round % days.count
                    var request = SigningRequest(method: "GET", host: "example.amazonaws.com")
                    signer.sign(&request, payloadHash: .emptyBody, date: days[index])
                    return (index, signer.signingKey(date: days[index]))
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        for (index, key) in results {
            #expect(key == expected[index])
        }
    }

    @Test("Printing or dumping credentials and signers never reveals the secret or token")
    func redaction() {
        let credentials = AWSCredentials(
            accessKeyId: "AKIDEXAMPLE",
            secretAccessKey: "SECRET-KEY-VALUE",
            sessionToken: "SESSION-TOKEN-VALUE",
            expiration: 1_700_000_000
        )
        #expect(AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "SECRET-KEY-VALUE").description
            == "AWSCredentials(accessKeyId: AKIDEXAMPLE, secret: <redacted>)")
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        _ = signer.signingKey(date: Self.date)
        var dumped = ""
        dump(credentials, to: &dumped)
        dump(signer, to: &dumped)
        let renderings = [
            credentials.description, credentials.debugDescription, "\(credentials)", String(reflecting: credentials),
            "\(signer)", String(reflecting: signer), "\([credentials])", dumped,
        ]
        for text in renderings {
            #expect(text.contains("AKIDEXAMPLE"))
            #expect(!text.contains("SECRET-KEY-VALUE"))
            #expect(!text.contains("SESSION-TOKEN-VALUE"))
        }
    }
}
