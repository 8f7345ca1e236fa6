import AWSSigV4
import RolloutCrypto
import Testing

@Suite("Published SigV4 vectors (AWS test suite, S3 docs)")
struct SigV4VectorTests {
    @Test("The fixture set is all there")
    func fixtureSet() {
        #expect(SuiteVector.names.count >= 28)
        for name in ["get-vanilla", "get-header-value-multiline", "post-sts-header-before", "s3-get-object-range", "lambda-invoke-arn"] {
            #expect(SuiteVector.names.contains(name))
        }
    }

    @Test("Canonical request, string to sign and Authorization match exactly", arguments: SuiteVector.names)
    func vector(name: String) throws {
        let vector = try SuiteVector(name: name)
        let canonicalRequest = vector.signer.canonicalRequest(vector.request, payloadHash: vector.payloadHash, date: vector.date)
        #expect(canonicalRequest == vector.canonicalRequest)
        let stringToSign = vector.signer.stringToSign(canonicalRequest: canonicalRequest, date: vector.date)
        #expect(stringToSign == vector.stringToSign)
        let signature = vector.signer.signature(stringToSign: stringToSign, date: vector.date)
        #expect(vector.authorization.hasSuffix(", Signature=\(signature)"))

        var request = vector.request
        vector.signer.sign(&request, payloadHash: vector.payloadHash, date: vector.date)
        #expect(request.headerValue("Authorization") == vector.authorization)
        #expect(request.headers.filter { $0.name.lowercased() == "authorization" }.count == 1)
        #expect(request.headers.filter { $0.name.lowercased() == "x-amz-date" }.map(\.value) == [vector.date.amzDate])
    }

    @Test("S3 GET Object with Range, from the S3 API reference")
    func s3DocumentationExample() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1",
            service: "s3"
        )
        var request = SigningRequest(
            method: "GET",
            host: "examplebucket.s3.amazonaws.com",
            path: "/test.txt",
            headers: [("Range", "bytes=0-9")]
        )
        let date = try #require(SigningDate(amzDate: "20130524T000000Z"))
        signer.sign(&request, payloadHash: .emptyBody, date: date)
        #expect(
            request.headerValue("authorization")
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        )
        #expect(request.headerValue("x-amz-content-sha256") == PayloadHash.emptyBody.value)
        #expect(request.headerValue("host") == "examplebucket.s3.amazonaws.com")
    }

    @Test("A Lambda function ARN in the path is encoded twice in the canonical URI")
    func lambdaARN() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1",
            service: "lambda"
        )
        let function = "arn:aws:lambda:us-east-1:123456789012:function:my-function"
        let request = SigningRequest(
            method: "POST",
            host: "lambda.us-east-1.amazonaws.com",
            path: "/2015-03-31/functions/\(SigV4Signer.encodeURIComponent(function))/invocations"
        )
        #expect(request.path == "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-function/invocations")
        let date = try #require(SigningDate(amzDate: "20150830T123600Z"))
        let canonical = signer.canonicalRequest(request, payloadHash: .emptyBody, date: date)
        #expect(canonical.split(separator: "\n", omittingEmptySubsequences: false)[1]
            == "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Amy-function/invocations")
    }

    @Test("The signing key matches the IAM guide's derivation example")
    func signingKey() throws {
        let signer = SigV4Signer(
            credentials: AWSCredentials(accessKeyId: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1",
            service: "iam"
        )
        let key = signer.signingKey(date: try #require(SigningDate(amzDate: "20120215T000000Z")))
        #expect(key.hexString == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }
}
