import AWSConfig
import AWSSigV4
import CurlHTTP
import RolloutAWS
import RolloutCore
import Testing

@Suite("AWSClient: signing, protocols, error mapping and retries (scripted HTTP)")
struct ClientTests {
    func client(
        _ http: AWSTestScriptedHTTP,
        service: AWSService = .secretsManager,
        endpoint: String = "https://secretsmanager.us-east-1.amazonaws.com",
        policy: RetryPolicy = .standard(),
        sleeper: AWSTestSleepRecorder = AWSTestSleepRecorder(),
        credentials: any CredentialSource = awsTestCredentials
    ) throws(RolloutError) -> AWSClient {
        try AWSClient(
            service: service, endpointURL: endpoint, region: "us-east-1", credentials: credentials, http: http,
            retryPolicy: policy, environment: sleeper.environment()
        )
    }

    // MARK: Endpoints

    @Test("endpoint URLs: host lowercased, default ports dropped, path prefixes kept (botocore joining)")
    func endpoints() throws {
        let custom = try AWSEndpoint(url: "http://LocalHost:4566/gateway/aws")
        #expect(custom.scheme == "http" && custom.host == "localhost:4566" && custom.basePath == "/gateway/aws")
        #expect(custom.joinedPath("/") == "/gateway/aws")
        #expect(custom.joinedPath("/bucket/key") == "/gateway/aws/bucket/key")
        let slash = try AWSEndpoint(url: "https://example.com:443/p/")
        #expect(slash.host == "example.com" && slash.joinedPath("/k") == "/p/k" && slash.joinedPath("/") == "/p/")
        let plain = try AWSEndpoint(url: "https://s3.us-west-2.amazonaws.com")
        #expect(plain.joinedPath("/") == "/" && plain.joinedPath("/b/k") == "/b/k")
        #expect(try AWSEndpoint(url: "http://[::1]:8080").host == "[::1]:8080")
        #expect(try AWSEndpoint(url: "http://h:80").host == "h")
        for bad in ["ftp://h", "h:80", "http://", "http://user:pw@h", "http://h:99999", "http://h/?q=1", "http://h x"] {
            #expect(throws: RolloutError.self, "\(bad)") { try AWSEndpoint(url: bad) }
        }
        do {
            _ = try AWSEndpoint(url: "http://AKID:secret@h")
        } catch {
            #expect(error.code == .configInvalid && !error.message.contains("secret"))
        }
    }

    @Test("the request goes under the endpoint's path prefix and is signed as sent")
    func urlAndSigning() async throws {
        let http = AWSTestScriptedHTTP([])
        let aws = try client(http, service: .s3, endpoint: "http://127.0.0.1:9000/prefix/")
        let body = Array("hello".utf8)
        _ = try await aws.send(
            AWSRequest(operation: "PutObject", method: "PUT", path: "/bucket/a%20b", query: [(name: "x-id", value: "PutObject")], body: .bytes(body))
        )
        let sent = try #require(http.requests.first)
        #expect(sent.url == "http://127.0.0.1:9000/prefix/bucket/a%20b?x-id=PutObject")
        func header(_ name: String) -> String? { sent.headers.first { $0.name.lowercased() == name }?.value }
        #expect(header("host") == "127.0.0.1:9000")
        #expect(header("x-amz-date") == "20231114T221320Z")
        #expect(header("x-amz-content-sha256") == PayloadHash.sha256(of: body).value)
        let authorization = try #require(header("authorization"))
        #expect(authorization.hasPrefix("AWS4-HMAC-SHA256 Credential=AKIDTESTCLIENT/20231114/us-east-1/s3/aws4_request"))

        // The signature is exactly what the signer computes for the same request.
        var expected = SigningRequest(
            method: "PUT", scheme: "http", host: "127.0.0.1:9000", path: "/prefix/bucket/a%20b", query: [(name: "x-id", value: "PutObject")]
        )
        let signer = SigV4Signer(credentials: try await awsTestCredentials.credentials(), region: "us-east-1", service: "s3")
        signer.sign(&expected, payloadHash: .sha256(of: body), date: SigningDate(timeIntervalSince1970: 1_700_000_000))
        #expect(expected.headerValue("authorization") == authorization)
        #expect(!authorization.contains("test-secret-key"))
    }

    @Test("payload hashes: precomputed and UNSIGNED-PAYLOAD pass through; file bodies need one")
    func payloadHashes() async throws {
        let http = AWSTestScriptedHTTP([])
        let aws = try client(http, service: .s3)
        let directory = try S3TestDirectory()
        defer { directory.remove() }
        let empty = try openForTest(try directory.writeFile("empty.bin", size: 0, seed: 0))
        _ = try await aws.send(
            AWSRequest(operation: "UploadPart", method: "PUT", path: "/b/k", body: .file(empty, offset: 0, length: 0), payloadHash: .unsigned)
        )
        #expect(http.requests.last?.headers.first { $0.name == "x-amz-content-sha256" }?.value == "UNSIGNED-PAYLOAD")
        let hex = String(repeating: "ab", count: 32)
        _ = try await aws.send(
            AWSRequest(operation: "UploadPart", method: "PUT", path: "/b/k", body: .file(empty, offset: 0, length: 0), payloadHash: .sha256(hex: hex))
        )
        #expect(http.requests.last?.headers.first { $0.name == "x-amz-content-sha256" }?.value == hex)
        await #expect(throws: RolloutError.self) {
            _ = try await aws.send(AWSRequest(operation: "UploadPart", method: "PUT", path: "/b/k", body: .file(empty, offset: 0, length: 0)))
        }
        #expect(http.requests.count == 2, "nothing sent without a hash")
    }

    @Test("session tokens are sent; credentials never appear in the request beyond the key id")
    func sessionToken() async throws {
        let http = AWSTestScriptedHTTP([])
        let aws = try client(http, credentials: StaticCredentials(accessKeyId: "ASIAX", secretAccessKey: "shh-secret", sessionToken: "tok-123"))
        _ = try await aws.jsonCall(target: "secretsmanager.ListSecrets", body: [:])
        let sent = try #require(http.requests.first)
        #expect(sent.headers.contains { $0.name == "x-amz-security-token" && $0.value == "tok-123" })
        #expect(!sent.headers.contains { $0.value.contains("shh-secret") })
        #expect(!sent.headers.contains { $0.name == "x-amz-content-sha256" }, "only S3 sends it")
    }

    // MARK: Protocols

    @Test("JSON 1.1: POST /, X-Amz-Target, content type, body; SQS JSON 1.0 adds x-amzn-query-mode")
    func jsonProtocol() async throws {
        let http = AWSTestScriptedHTTP([.success(HTTPResponse(status: 200, headers: [], body: Array(#"{"Name":"n"}"#.utf8)))])
        let aws = try client(http)
        let result = try await aws.jsonCall(target: "secretsmanager.GetSecretValue", jsonVersion: "1.1", body: ["SecretId": "n"])
        #expect(result["Name"] == "n")
        let sent = try #require(http.requests.first)
        #expect(sent.method == "POST" && sent.url == "https://secretsmanager.us-east-1.amazonaws.com/")
        #expect(sent.headers.contains { $0.name == "content-type" && $0.value == "application/x-amz-json-1.1" })
        #expect(sent.headers.contains { $0.name == "x-amz-target" && $0.value == "secretsmanager.GetSecretValue" })
        #expect(!sent.headers.contains { $0.name == "x-amzn-query-mode" })
        guard case .bytes(let body) = sent.body else {
            Issue.record("expected a byte body")
            return
        }
        #expect(try JSONParser.parse(body) == ["SecretId": "n"])

        let sqsHTTP = AWSTestScriptedHTTP([.success(HTTPResponse(status: 200, headers: [], body: []))])
        let sqs = try client(sqsHTTP, service: .sqs, endpoint: "https://sqs.us-east-1.amazonaws.com")
        let empty = try await sqs.jsonCall(target: "AmazonSQS.DeleteMessage", jsonVersion: "1.0", body: [:])
        #expect(empty == .object([:]))
        let sqsSent = try #require(sqsHTTP.requests.first)
        #expect(sqsSent.headers.contains { $0.name == "content-type" && $0.value == "application/x-amz-json-1.0" })
        #expect(sqsSent.headers.contains { $0.name == "x-amzn-query-mode" && $0.value == "true" })
    }

    @Test("a 2xx body that is not JSON is Unavailable and is not quoted")
    func malformedJSON() async throws {
        let http = AWSTestScriptedHTTP([.success(HTTPResponse(status: 200, headers: [], body: Array("not json SECRETVALUE".utf8)))])
        let aws = try client(http)
        do {
            _ = try await aws.jsonCall(target: "secretsmanager.GetSecretValue", body: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unavailable && !error.message.contains("SECRETVALUE"))
        }
    }

    @Test("Query protocol: form body with RFC 3986 encoding, XML back")
    func queryProtocol() async throws {
        let xml = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>123</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
        let http = AWSTestScriptedHTTP([.success(HTTPResponse(status: 200, headers: [], body: Array(xml.utf8)))])
        let aws = try client(http, service: .sns, endpoint: "https://sns.us-east-1.amazonaws.com")
        let root = try await aws.queryCallXML(
            action: "Publish", version: "2010-03-31", params: [(name: "Message", value: "a b+c/~é"), (name: "TopicArn", value: "arn:x")]
        )
        #expect(root.firstDescendant("Account")?.text == "123")
        let sent = try #require(http.requests.first)
        guard case .bytes(let body) = sent.body else {
            Issue.record("expected a byte body")
            return
        }
        #expect(String(decoding: body, as: UTF8.self) == "Action=Publish&Version=2010-03-31&Message=a%20b%2Bc%2F~%C3%A9&TopicArn=arn%3Ax")
        #expect(sent.headers.contains { $0.name == "content-type" && $0.value == "application/x-www-form-urlencoded; charset=utf-8" })
    }

    @Test("unsigned requests carry no authorization and load no credentials")
    func unsigned() async throws {
        struct NoCredentials: CredentialSource {
            func credentials() async throws -> AWSCredentials { throw RolloutError(.accessDenied, "no credentials here") }
        }
        let http = AWSTestScriptedHTTP([.success(HTTPResponse(status: 200, headers: [], body: Array("<R/>".utf8)))])
        let aws = try client(http, service: .sts, endpoint: "https://sts.us-east-1.amazonaws.com", credentials: NoCredentials())
        _ = try await aws.queryCall(action: "AssumeRoleWithWebIdentity", version: "2011-06-15", isUnsigned: true)
        let sent = try #require(http.requests.first)
        #expect(!sent.headers.contains { $0.name.lowercased() == "authorization" })
        #expect(sent.headers.contains { $0.name == "host" && $0.value == "sts.us-east-1.amazonaws.com" })
        // Signed calls pass the credential source's RolloutError through unchanged.
        do {
            _ = try await aws.queryCall(action: "GetCallerIdentity", version: "2011-06-15")
            Issue.record("expected an error")
        } catch {
            #expect(error == RolloutError(.accessDenied, "no credentials here"))
        }
    }

    // MARK: Error parsing

    @Test("JSON errors: __type namespace stripped, message/Message, x-amzn-query-error wins, request id")
    func jsonErrorParsing() {
        let sqs = AWSServiceError.parse(
            HTTPResponse(
                status: 400,
                headers: [
                    (name: "x-amzn-query-error", value: "AWS.SimpleQueueService.NonExistentQueue;Sender"),
                    (name: "x-amzn-requestid", value: "r1"),
                ],
                body: Array(#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#.utf8)
            ),
            body: Array(#"{"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"The specified queue does not exist."}"#.utf8)
        )
        #expect(sqs.code == "AWS.SimpleQueueService.NonExistentQueue")
        #expect(sqs.alternateCodes == ["QueueDoesNotExist"])
        #expect(sqs.message == "The specified queue does not exist." && sqs.requestId == "r1" && sqs.httpStatus == 400)

        let body = Array(#"{"__type":"ResourceNotFoundException:http://internal.amazon.com/coral/","Message":"nope"}"#.utf8)
        let plain = AWSServiceError.parse(HTTPResponse(status: 400, headers: [], body: body), body: body)
        #expect(plain.code == "ResourceNotFoundException" && plain.message == "nope" && plain.requestId == nil)

        let restJSON = AWSServiceError.parse(
            HTTPResponse(status: 404, headers: [(name: "x-amzn-errortype", value: "ResourceNotFoundException:http://x/")], body: []),
            body: Array(#"{"Type":"User","Message":"Function not found"}"#.utf8)
        )
        #expect(restJSON.code == "ResourceNotFoundException" && restJSON.message == "Function not found")

        let retry = AWSServiceError.parse(HTTPResponse(status: 400, headers: [(name: "x-amz-retry-after", value: "1500")], body: []), body: [])
        #expect(retry.retryAfter == .milliseconds(1500) && retry.code == nil)
    }

    @Test("XML errors: S3 <Error>, Query <ErrorResponse>, EC2 <Response><Errors>, entities")
    func xmlErrorParsing() {
        func parse(_ status: Int, _ xml: String, headers: [(name: String, value: String)] = []) -> AWSServiceError {
            AWSServiceError.parse(HTTPResponse(status: status, headers: headers, body: Array(xml.utf8)), body: Array(xml.utf8))
        }
        let s3 = parse(
            404,
            #"<?xml version="1.0" encoding="UTF-8"?>"# + "\n<Error><Code>NoSuchKey</Code><Message>The key &lt;k&gt; &amp; more</Message><Key>k</Key><RequestId>ABC</RequestId><HostId>h</HostId></Error>"
        )
        #expect(s3.code == "NoSuchKey" && s3.message == "The key <k> & more" && s3.requestId == "ABC")
        let s3Header = parse(503, "<Error><Code>SlowDown</Code><Message>Reduce</Message></Error>", headers: [(name: "x-amz-request-id", value: "HDR")])
        #expect(s3Header.code == "SlowDown" && s3Header.requestId == "HDR")
        let query = parse(
            403,
            #"<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid.</Message></Error><RequestId>q-1</RequestId></ErrorResponse>"#
        )
        #expect(query.code == "InvalidClientTokenId" && query.requestId == "q-1")
        let ec2 = parse(400, "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>x</Message></Error></Errors><RequestID>e-1</RequestID></Response>")
        #expect(ec2.code == "RequestLimitExceeded" && ec2.requestId == "e-1")
        let cdata = parse(400, "<Error><Code><![CDATA[InvalidArgument]]></Code><Message>a&#x41;&#66;</Message></Error>")
        #expect(cdata.code == "InvalidArgument" && cdata.message == "aAB")
        let empty = parse(404, "")
        #expect(empty.code == nil && empty.httpStatus == 404)
        let garbage = parse(500, "<html><body>Bad gateway")
        #expect(garbage.code == nil)
    }

    @Test("the XML parser handles namespaces, self-closing tags, comments and refuses DOCTYPE")
    func xmlParser() throws {
        let root = try AWSXML.parse(
            #"<?xml version="1.0"?><!-- c --><s3:ListBucketResult xmlns:s3="x"><s3:Contents><Key>a</Key><Size>1</Size></s3:Contents><Contents><Key>b</Key><Empty/></Contents><IsTruncated>false</IsTruncated></s3:ListBucketResult>"#
        )
        #expect(root.name == "ListBucketResult")
        #expect(root.children("Contents").map { $0.childText("Key") } == ["a", "b"])
        #expect(root.children("Contents")[1].child("Empty")?.text == "")
        #expect(root.childText("IsTruncated") == "false")
        #expect(throws: AWSXMLError.self) { try AWSXML.parse(#"<!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>"#) }
        #expect(throws: AWSXMLError.self) { try AWSXML.parse("<a><b></a>") }
        #expect(throws: AWSXMLError.self) { try AWSXML.parse("<a>&unknown;</a>") }
        #expect(throws: AWSXMLError.self) { try AWSXML.parse("<a/><b/>") }
        #expect(AWSXML.escape(#"<a href="x">&'"#) == "&lt;a href=&quot;x&quot;&gt;&amp;&apos;")
    }

    // MARK: Error mapping

    @Test(
        "mapping table: upstream code/status → RolloutError code",
        arguments: [
            (400, "ThrottlingException", ErrorCode.throttled),
            (503, "SlowDown", .throttled),
            (429, "TooManyRequestsException", .throttled),
            (400, "ResourceNotFoundException", .notFound),
            (404, "NoSuchKey", .notFound),
            (404, "NoSuchBucket", .notFound),
            (404, "NoSuchUpload", .notFound),
            (404, "NotFound", .notFound),
            (400, "AWS.SimpleQueueService.NonExistentQueue", .notFound),
            (400, "QueueDoesNotExist", .notFound),
            (403, "AccessDenied", .accessDenied),
            (400, "AccessDeniedException", .accessDenied),
            (400, "UnrecognizedClientException", .accessDenied),
            (403, "InvalidClientTokenId", .accessDenied),
            (403, "SignatureDoesNotMatch", .accessDenied),
            (400, "ExpiredToken", .accessDenied),
            (400, "ExpiredTokenException", .accessDenied),
            (400, "DecryptionFailure", .accessDenied),
            (412, "PreconditionFailed", .preconditionFailed),
            (400, "InvalidParameterException", .invalidParams),
            (400, "ValidationException", .invalidParams),
            (400, "InvalidRequestException", .invalidParams),
            (400, "EntityTooLarge", .tooLarge),
            (500, "InternalServiceError", .unavailable),
            (502, "", .unavailable),
            (503, "ServiceUnavailable", .unavailable),
            (504, "", .unavailable),
            (501, "NotImplemented", .unavailable),
            (404, "", .notFound),
            (403, "", .accessDenied),
            (412, "", .preconditionFailed),
            (304, "", .preconditionFailed),
            (413, "", .tooLarge),
            (400, "SomethingElse", .invalidParams),
            (409, "", .invalidParams),
        ] as [(Int, String, ErrorCode)]
    )
    func mapping(status: Int, code: String, expected: ErrorCode) async throws {
        let response: Result<HTTPResponse, HTTPError> =
            code.isEmpty
            ? .success(HTTPResponse(status: status, headers: [(name: "x-amz-request-id", value: "rid")], body: []))
            : awsTestJSONError(status, code, "upstream says no")
        let http = AWSTestScriptedHTTP([], fallback: response)
        let aws = try client(http, policy: .standard(maxAttempts: 2))
        do {
            _ = try await aws.send(AWSRequest(operation: "Op", method: "POST"))
            Issue.record("expected \(expected)")
        } catch {
            #expect(error.code == expected, "\(status) \(code): \(error)")
            #expect(error.upstream("service") == "secrets_manager")
            #expect(error.upstream("httpStatus")?.int64Value == Int64(status))
            #expect(error.upstream("requestId")?.stringValue != nil)
            if !code.isEmpty {
                #expect(error.upstream("code")?.stringValue == code)
                #expect(error.message.contains(code))
            }
            if expected == .throttled {
                #expect(error.data["retryAfterMs"]?.int64Value == 2000, "ceiling after 2 throttled attempts")
            }
            if expected == .invalidParams {
                #expect(error.message.hasPrefix("AWS rejected the request: "))
            }
            let retried = RetryClassifier.classify(httpStatus: status, errorCodes: code.isEmpty ? [] : [code]).isRetryable
            #expect(http.requests.count == (retried ? 2 : 1))
        }
    }

    @Test("transport failures after retries: connect/reset/timeout → Unavailable; cancel, too large, local")
    func transportMapping() async throws {
        for kind in [HTTPError.Kind.connect, .io, .timeout] {
            let http = AWSTestScriptedHTTP([], fallback: .failure(HTTPError(kind, "boom")))
            let aws = try client(http)
            do {
                _ = try await aws.send(AWSRequest(operation: "Op", method: "POST"))
                Issue.record("expected Unavailable")
            } catch {
                #expect(error.code == .unavailable && error.message.contains("3 attempts"))
                #expect(error.upstream("service") == "secrets_manager" && error.upstream("httpStatus") == nil)
                #expect(error.data["retryAfterMs"] != nil)
            }
            #expect(http.requests.count == 3)
            #expect(aws.retryTokensAvailable == 500 - (kind == .timeout ? 20 : 10))
        }
        let cases: [(HTTPError.Kind, ErrorCode)] = [(.tooLarge, .tooLarge), (.cancelled, .requestCancelled), (.local, .internalError)]
        for (kind, code) in cases {
            let http = AWSTestScriptedHTTP([], fallback: .failure(HTTPError(kind, "x")))
            do {
                _ = try await client(http).send(AWSRequest(operation: "Op", method: "POST"))
            } catch {
                #expect(error.code == code)
            }
            #expect(http.requests.count == 1)
        }
    }

    // MARK: Retries through the client

    @Test("503, 503, 200: three attempts, backoffs as the state machine says, tokens refunded")
    func retriesThenSucceeds() async throws {
        let http = AWSTestScriptedHTTP([awsTestXMLError(503, "ServiceUnavailable"), awsTestXMLError(500, "InternalError")])
        let sleeper = AWSTestSleepRecorder()
        let aws = try client(http, sleeper: sleeper)
        let response = try await aws.send(AWSRequest(operation: "Op", method: "POST"))
        #expect(response.status == 200)
        #expect(http.requests.count == 3)
        #expect(sleeper.sleeps == [.milliseconds(25), .milliseconds(50)], "0.5 × 50 ms, 0.5 × 100 ms")
        #expect(aws.retryTokensAvailable == 495, "two retries of 5, the last refunded")
        // Every attempt is signed afresh and identical otherwise.
        #expect(Set(http.requests.map(\.url)).count == 1)
    }

    @Test("throttled to the end: Throttled with retryAfterMs, upstream code; x-amz-retry-after honoured")
    func throttledToTheEnd() async throws {
        let http = AWSTestScriptedHTTP([], fallback: awsTestJSONError(400, "ThrottlingException", "Rate exceeded", headers: [("x-amz-retry-after", "3000")]))
        let sleeper = AWSTestSleepRecorder()
        let aws = try client(http, sleeper: sleeper)
        do {
            _ = try await aws.jsonCall(target: "secretsmanager.GetSecretValue", body: [:])
            Issue.record("expected Throttled")
        } catch {
            #expect(error.code == .throttled)
            #expect(error.data["retryAfterMs"]?.int64Value == 4000)
            #expect(error.upstream("code") == "ThrottlingException")
            #expect(error.message.contains("GetSecretValue") && error.message.contains("3 attempts"))
        }
        #expect(sleeper.sleeps == [.seconds(3), .seconds(3)])
    }

    @Test("an empty bucket fails at once; a long poll waits one backoff first")
    func quotaExhaustion() async throws {
        let policy = RetryPolicy(bucketCapacity: 0)
        let http = AWSTestScriptedHTTP([], fallback: awsTestXMLError(503, "SlowDown"))
        let sleeper = AWSTestSleepRecorder()
        let aws = try client(http, policy: policy, sleeper: sleeper)
        do {
            _ = try await aws.send(AWSRequest(operation: "GetObject", method: "GET"))
        } catch {
            #expect(error.code == .throttled && error.message.contains("retry quota exhausted"))
            #expect(error.data["retryAfterMs"]?.int64Value == 1000)
        }
        #expect(http.requests.count == 1 && sleeper.sleeps.isEmpty)
        do {
            _ = try await aws.send(AWSRequest(operation: "ReceiveMessage", method: "POST", isLongPoll: true))
        } catch {
            #expect(error.code == .throttled)
        }
        #expect(http.requests.count == 2 && sleeper.sleeps == [.milliseconds(500)])
    }

    @Test("a 200 whose body is <Error> is retried when the request asks for it")
    func errorInSuccessBody() async throws {
        let errorBody = Array("<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>".utf8)
        let okBody = Array("<CompleteMultipartUploadResult><ETag>e</ETag></CompleteMultipartUploadResult>".utf8)
        let http = AWSTestScriptedHTTP([
            .success(HTTPResponse(status: 200, headers: [], body: errorBody)),
            .success(HTTPResponse(status: 200, headers: [], body: okBody)),
        ])
        let aws = try client(http, service: .s3)
        let response = try await aws.send(
            AWSRequest(operation: "CompleteMultipartUpload", method: "POST", path: "/b/k", detectsErrorInSuccessBody: true)
        )
        #expect(response.body == okBody && http.requests.count == 2)
    }

    @Test("cancellation during a backoff answers RequestCancelled at once")
    func cancellation() async throws {
        let http = AWSTestScriptedHTTP([], fallback: awsTestXMLError(503, "SlowDown"))
        let aws = try client(http, sleeper: AWSTestSleepRecorder(cap: .seconds(30)))
        let task = Task { () async throws(RolloutError) -> HTTPResponse in
            try await aws.send(AWSRequest(operation: "Op", method: "GET"))
        }
        try await Task.sleep(for: .milliseconds(100))
        task.cancel()
        let clock = ContinuousClock()
        let started = clock.now
        let result = await task.result
        #expect(clock.now - started < .seconds(15), "cancelled, not after the 30 s backoff")
        guard case .failure(let error) = result else {
            Issue.record("expected an error")
            return
        }
        #expect((error as? RolloutError)?.code == .requestCancelled)
    }

    @Test("a missing region or endpoint is ConfigInvalid")
    func missingRegion() throws {
        let http = AWSTestScriptedHTTP([])
        #expect(throws: RolloutError.self) {
            _ = try AWSClient(service: .s3, endpointURL: "https://s3.amazonaws.com", region: "", credentials: awsTestCredentials, http: http)
        }
        let resolved = ResolvedEndpoint(service: .sqs, endpointURL: nil, endpointSource: .default, region: nil, regionSource: .default)
        do {
            _ = try AWSClient(endpoint: resolved, credentials: awsTestCredentials, http: http)
            Issue.record("expected ConfigInvalid")
        } catch {
            #expect(error.code == .configInvalid && error.message.contains("AWS_REGION_SQS"))
        }
    }
}

@Suite("AWSClient against moto", .serialized)
struct ClientMotoTests {
    @Test("SQS JSON 1.0 with x-amzn-query-mode: a missing queue is NotFound with the legacy code")
    func sqsNotFound() async throws {
        let moto = try await AWSTestMoto.get()
        let aws = try AWSClient(service: .sqs, endpointURL: moto.url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient())
        let created = try await aws.jsonCall(target: "AmazonSQS.CreateQueue", jsonVersion: "1.0", body: ["QueueName": "client-test-q"])
        #expect(created["QueueUrl"]?.stringValue?.hasSuffix("/client-test-q") == true)
        do {
            _ = try await aws.jsonCall(target: "AmazonSQS.GetQueueUrl", jsonVersion: "1.0", body: ["QueueName": "no-such-queue"])
            Issue.record("expected NotFound")
        } catch {
            #expect(error.code == .notFound, "\(error)")
            let code = error.upstream("code")?.stringValue ?? ""
            #expect(code == "AWS.SimpleQueueService.NonExistentQueue" || code == "QueueDoesNotExist")
            #expect(error.upstream("service") == "sqs")
            #expect(error.upstream("requestId")?.stringValue?.isEmpty == false)
        }
    }

    @Test("Query protocol: STS GetCallerIdentity returns XML")
    func stsQuery() async throws {
        let moto = try await AWSTestMoto.get()
        let aws = try AWSClient(service: .sts, endpointURL: moto.url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient())
        let root = try await aws.queryCallXML(action: "GetCallerIdentity", version: "2011-06-15")
        #expect(root.name == "GetCallerIdentityResponse")
        #expect(root.firstDescendant("Account")?.text.isEmpty == false)
    }

    @Test("JSON 1.1 errors from a real server: ResourceNotFoundException with the request id header")
    func secretsNotFound() async throws {
        let moto = try await AWSTestMoto.get()
        let aws = try AWSClient(
            service: .secretsManager, endpointURL: moto.url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient()
        )
        do {
            _ = try await aws.jsonCall(target: "secretsmanager.GetSecretValue", body: ["SecretId": "client/none"])
            Issue.record("expected NotFound")
        } catch {
            #expect(error.code == .notFound)
            #expect(error.upstream("code") == "ResourceNotFoundException")
            #expect(error.upstream("requestId")?.stringValue?.isEmpty == false)
        }
    }

    @Test("a custom endpoint's path prefix reaches the server")
    func pathPrefix() async throws {
        let moto = try await AWSTestMoto.get()
        let proxy = try await AWSTestFaultProxy(target: moto.url)
        defer { proxy.stop() }
        let aws = try AWSClient(
            service: .secretsManager, endpointURL: proxy.url + "/some/prefix", region: "us-east-1", credentials: awsTestCredentials,
            http: CurlHTTPClient(), retryPolicy: .standard(maxAttempts: 1)
        )
        _ = try? await aws.jsonCall(target: "secretsmanager.ListSecrets", body: [:])
        let stats = try await proxy.stats()
        #expect(stats["byPath"]?["/some/prefix"]?.int64Value == 1)
    }
}
