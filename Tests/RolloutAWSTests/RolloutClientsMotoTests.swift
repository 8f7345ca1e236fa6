import AWSConfig
import CurlHTTP
import Glibc
import RolloutAWS
import RolloutCore
import Testing

/// Runs `python3 tests/aws/seed_rollout.py URL` with `operations` on stdin (boto3, an
/// independent client) and returns one result per operation.
func rolloutTestBoto(endpoint: String, _ operations: [JSONValue]) async throws -> [JSONValue] {
    let result = try await awsTestRunPython(
        "tests/aws/seed_rollout.py", arguments: [endpoint], input: .array(operations),
        log: "/tmp/rolloutd-awstest-rollout.log"
    )
    guard let results = result.arrayValue, results.count == operations.count else {
        throw AWSTestProcessError(description: "seed_rollout.py printed no result list")
    }
    return results
}

/// The shared moto, AWS clients on it, and boto3 on the other side.
struct RolloutMotoFixture {
    let moto: AWSTestMoto

    init() async throws {
        moto = try await AWSTestMoto.get()
    }

    func client(_ service: AWSService) throws -> AWSClient {
        try AWSClient(
            service: service, endpointURL: moto.url, region: "us-east-1", credentials: awsTestCredentials, http: CurlHTTPClient(),
            retryPolicy: .standard(maxAttempts: 3), environment: AWSTestSleepRecorder(cap: .milliseconds(2)).environment()
        )
    }

    func boto(_ operations: [JSONValue]) async throws -> [JSONValue] {
        try await rolloutTestBoto(endpoint: moto.url, operations)
    }

    /// Docker-less Lambda, then a function with versions 1 and 2 and the alias `live` on 1.
    /// Returns the function's ARN and the alias's RevisionId.
    func functionWithAlias(_ name: String) async throws -> (arn: String, revisionId: String) {
        let results = try await boto([
            ["op": "lambdaSimple"],
            ["op": "createFunction", "name": .string(name)],
            ["op": "createAlias", "function": .string(name), "name": "live", "version": "1"],
        ])
        #expect(results[1]["versions"] == ["1", "2"])
        guard let arn = results[1]["arn"]?.stringValue, let revisionId = results[2].stringValue else {
            throw AWSTestProcessError(description: "seed_rollout.py did not create the function")
        }
        return (arn, revisionId)
    }

    /// The alias as boto3 reads it.
    func aliasSeenByBoto(_ function: String) async throws -> JSONValue {
        try await boto([["op": "getAlias", "function": .string(function), "name": "live"]])[0]
    }
}

/// A unique resource name (letters, digits and `-`, as Lambda, SNS and SQS all accept).
func rolloutTestName(_ base: String) -> String {
    "\(base)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}

/// Serialized: moto's Docker-less Lambda keeps one queue of scripted invoke results per region.
@Suite("Lambda, CloudWatch and SNS clients against moto (boto3 on the other side)", .serialized)
struct RolloutClientsMotoTests {
    // MARK: Lambda

    @Test("GetAlias, then UpdateAlias by ARN: a 10% split that boto3 sees, then version 2 with the split removed")
    func aliasWeights() async throws {
        let fixture = try await RolloutMotoFixture()
        let name = rolloutTestName("alias")
        let (arn, revisionId) = try await fixture.functionWithAlias(name)
        let lambda = LambdaClient(client: try fixture.client(.lambda))

        let alias = try await lambda.getAlias(function: name, alias: "live")
        #expect(alias == LambdaAlias(functionVersion: "1", additionalWeights: [:], revisionId: revisionId))

        // The ARN has ':' in it: the path segment must be percent-encoded.
        let split = try await lambda.updateAlias(
            function: arn, alias: "live", functionVersion: "1", additionalWeights: ["2": 0.1], revisionId: alias.revisionId
        )
        #expect(split.functionVersion == "1" && split.additionalWeights == ["2": 0.1])
        var seen = try await fixture.aliasSeenByBoto(name)
        #expect(seen["version"] == "1" && seen["weights"] == ["2": 0.1])

        let done = try await lambda.updateAlias(
            function: arn, alias: "live", functionVersion: "2", additionalWeights: [:], revisionId: split.revisionId
        )
        #expect(done.functionVersion == "2" && done.additionalWeights.isEmpty)
        seen = try await fixture.aliasSeenByBoto(name)
        // moto keeps `RoutingConfig: {"AdditionalVersionWeights": {}}` where Lambda drops it:
        // either way no version but 2 gets traffic.
        #expect(seen["version"] == "2" && seen["weights"] == [:])
        #expect(try await lambda.getAlias(function: name, alias: "live").additionalWeights.isEmpty)
    }

    @Test("a missing alias or function is NotFound with the upstream code and status")
    func aliasNotFound() async throws {
        let fixture = try await RolloutMotoFixture()
        let name = rolloutTestName("missing")
        _ = try await fixture.functionWithAlias(name)
        let lambda = LambdaClient(client: try fixture.client(.lambda))
        for (function, alias) in [(name, "nope"), (name + "-none", "live")] {
            do {
                _ = try await lambda.getAlias(function: function, alias: alias)
                Issue.record("found \(function):\(alias)")
            } catch {
                #expect(error.code == .notFound)
                #expect(error.upstream("code") == "ResourceNotFoundException" && error.upstream("httpStatus") == 404)
                #expect(error.message.contains("Lambda GetAlias") && error.message.contains("ResourceNotFoundException"))
            }
        }
    }

    @Test("PublishVersion makes version 3 after a change, and answers 3 again when nothing changed")
    func publish() async throws {
        let fixture = try await RolloutMotoFixture()
        let name = rolloutTestName("publish")
        _ = try await fixture.functionWithAlias(name)
        let lambda = LambdaClient(client: try fixture.client(.lambda))
        _ = try await fixture.boto([["op": "touchFunction", "name": .string(name)]])
        #expect(try await lambda.publishVersion(function: name) == "3")
        #expect(try await lambda.publishVersion(function: name) == "3")
        #expect(try await lambda.versionExists(function: name, version: "3"))
    }

    @Test("versionExists: published versions yes; unknown versions, unknown functions and alias names no")
    func versions() async throws {
        let fixture = try await RolloutMotoFixture()
        let name = rolloutTestName("versions")
        let (arn, _) = try await fixture.functionWithAlias(name)
        let lambda = LambdaClient(client: try fixture.client(.lambda))
        #expect(try await lambda.versionExists(function: name, version: "1"))
        #expect(try await lambda.versionExists(function: arn, version: "2"))
        #expect(try await lambda.versionExists(function: name, version: "9") == false)
        #expect(try await lambda.versionExists(function: name + "-none", version: "1") == false)
        // GetFunctionConfiguration resolves an alias to its version: that is not version "live".
        #expect(try await lambda.versionExists(function: name, version: "live") == false)
    }

    @Test("Invoke returns the scripted payload, then the echo of what was sent, then a function error")
    func invoke() async throws {
        let fixture = try await RolloutMotoFixture()
        let name = rolloutTestName("invoke")
        _ = try await fixture.functionWithAlias(name)
        let lambda = LambdaClient(client: try fixture.client(.lambda))

        let scripted = #"{"status":"Succeeded","from":"script"}"#
        await #expect(try fixture.boto([["op": "scriptInvoke", "results": [.string(scripted)]]]) == [201])
        let first = try await lambda.invoke(function: name, payload: Array(#"{"hook":"beforeTraffic"}"#.utf8))
        #expect(first == LambdaInvocation(statusCode: 200, payload: Array(scripted.utf8)))

        // With no scripted result left, moto's Docker-less Lambda answers with the request body.
        let sent = #"{"DeploymentId":"d-1","hook":"afterTraffic"}"#
        let echo = try await lambda.invoke(function: name, payload: Array(sent.utf8))
        #expect(echo.statusCode == 200 && echo.functionError == nil && String(decoding: echo.payload, as: UTF8.self) == sent)

        await #expect(try fixture.boto([["op": "scriptOversizedInvoke"]]) == [201])
        let failed = try await lambda.invoke(function: name, payload: Array("{}".utf8))
        #expect(failed.statusCode == 200 && failed.functionError == "Unhandled")
        #expect(try JSONParser.parse(failed.payload)["errorType"] == "Function.ResponseSizeTooLarge")
    }

    // MARK: CloudWatch

    @Test("DescribeAlarms: each named alarm's state, missing names absent, more than 100 names")
    func alarms() async throws {
        let fixture = try await RolloutMotoFixture()
        let prefix = rolloutTestName("alarm")
        let (firing, quiet, noData) = (prefix + "-firing", prefix + "-quiet", prefix + "-nodata")
        // moto starts a new alarm as OK (CloudWatch: INSUFFICIENT_DATA), so every state is set.
        _ = try await fixture.boto([
            ["op": "putAlarm", "name": .string(firing)],
            ["op": "putAlarm", "name": .string(quiet)],
            ["op": "putAlarm", "name": .string(noData)],
            ["op": "setAlarmState", "name": .string(firing), "state": "ALARM"],
            ["op": "setAlarmState", "name": .string(quiet), "state": "OK"],
            ["op": "setAlarmState", "name": .string(noData), "state": "INSUFFICIENT_DATA"],
        ])
        let alarms = CloudWatchAlarms(client: try fixture.client(.cloudWatch))
        let states = try await alarms.alarmStates(names: [firing, quiet, noData, prefix + "-absent", firing])
        #expect(states == [firing: "ALARM", quiet: "OK", noData: "INSUFFICIENT_DATA"])

        // 150 names: the two that exist sit in different calls.
        let names = [firing] + (0..<148).map { "\(prefix)-none-\($0)" } + [quiet]
        #expect(try await alarms.alarmStates(names: names) == [firing: "ALARM", quiet: "OK"])
        #expect(try await alarms.alarmStates(names: []) == [:])
    }

    // MARK: SNS

    @Test("Publish to a standard topic: the subscribed queue gets exactly one message with subject, body and dedup attribute")
    func publishStandard() async throws {
        let fixture = try await RolloutMotoFixture()
        let setup = try await fixture.boto([["op": "topicWithQueue", "name": .string(rolloutTestName("notify"))]])[0]
        let topicArn = try #require(setup["topicArn"]?.stringValue)
        let queueURL = try #require(setup["queueUrl"]?.stringValue)
        let publisher = SNSPublisher(client: try fixture.client(.sns))
        let message = #"{"event":"DeploymentStart","deploymentId":"d-42"} ✓"#
        let messageId = try await publisher.publish(
            topicArn: topicArn, subject: "rolloutd: DeploymentStart\nd-42", message: message,
            deduplicationId: "d-42/DeploymentStart", groupId: "d-42"
        )
        #expect(!messageId.isEmpty)

        let received = try await fixture.boto([["op": "drain", "url": .string(queueURL)]])[0].arrayValue ?? []
        #expect(received.count == 1)
        let envelope = try JSONParser.parse(Array((received.first?["body"]?.stringValue ?? "").utf8))
        #expect(envelope["Message"]?.stringValue == message)
        #expect(envelope["Subject"] == "rolloutd: DeploymentStart d-42")
        #expect(envelope["MessageId"]?.stringValue == messageId)
        #expect(envelope["MessageAttributes"]?["rolloutd.dedup"] == ["Type": "String", "Value": "d-42/DeploymentStart"])
    }

    @Test("Publish to a FIFO topic: group id, a long dedup id sent as its SHA-256, and a repeat deduplicated")
    func publishFIFO() async throws {
        let fixture = try await RolloutMotoFixture()
        let setup = try await fixture.boto([["op": "topicWithQueue", "name": .string(rolloutTestName("notify")), "fifo": true]])[0]
        let topicArn = try #require(setup["topicArn"]?.stringValue)
        let queueURL = try #require(setup["queueUrl"]?.stringValue)
        #expect(topicArn.hasSuffix(".fifo"))
        let publisher = SNSPublisher(client: try fixture.client(.sns))
        let dedup = "d-43/DeploymentSuccess/" + String(repeating: "x", count: 180)
        for _ in 0..<2 {
            _ = try await publisher.publish(
                topicArn: topicArn, subject: "rolloutd", message: "succeeded", deduplicationId: dedup, groupId: "d-43"
            )
        }
        let results = try await fixture.boto([["op": "drain", "url": .string(queueURL)], ["op": "sha256", "text": .string(dedup)]])
        let received = results[0].arrayValue ?? []
        #expect(received.count == 1)
        #expect(received.first?["system"]?["MessageGroupId"] == "d-43")
        #expect(received.first?["system"]?["MessageDeduplicationId"] == results[1])
        let envelope = try JSONParser.parse(Array((received.first?["body"]?.stringValue ?? "").utf8))
        #expect(envelope["MessageAttributes"]?["rolloutd.dedup"]?["Value"]?.stringValue == dedup)
    }
}

// MARK: - Scripted HTTP

extension RolloutClientsMotoTests {
    /// What moto cannot do: enforce `RevisionId` (moto 5.2 ignores it in UpdateAlias and never
    /// changes an alias's RevisionId), throttle, page DescribeAlarms, or return composite alarms
    /// (its server fails PutCompositeAlarm). These run against a scripted HTTP client.
    @Suite("Lambda, CloudWatch and SNS wire format and errors (scripted HTTP)")
    struct Scripted {
        static let endpoint = "https://lambda.us-east-1.amazonaws.com"
        static let functionArn = "arn:aws:lambda:us-east-1:123456789012:function:checkout"
        static let aliasBody: JSONValue = [
            "AliasArn": .string(functionArn + ":live"), "Name": "live", "FunctionVersion": "1",
            "RoutingConfig": ["AdditionalVersionWeights": ["2": 0.25]], "RevisionId": "rev-2",
        ]

        /// A client for `service` that sends through `http`: 3 attempts, backoffs recorded by `sleeper`.
        func client(_ service: AWSService, _ http: AWSTestScriptedHTTP, sleeper: AWSTestSleepRecorder = AWSTestSleepRecorder())
            throws -> AWSClient
        {
            try AWSClient(
                service: service, endpointURL: "https://\(service.endpointPrefix).us-east-1.amazonaws.com", region: "us-east-1",
                credentials: awsTestCredentials, http: http, retryPolicy: .standard(maxAttempts: 3),
                environment: sleeper.environment()
            )
        }

        static func ok(body: [UInt8], headers: [(name: String, value: String)] = []) -> Result<HTTPResponse, HTTPError> {
            .success(HTTPResponse(status: 200, headers: headers, body: body))
        }

        /// A Lambda (rest-json) error: the code in `x-amzn-errortype`, `{"Type", "message"}` in the body.
        static func lambdaError(_ status: Int, _ code: String, _ message: String) -> Result<HTTPResponse, HTTPError> {
            .success(
                HTTPResponse(
                    status: status,
                    headers: [
                        (name: "x-amzn-errortype", value: "\(code):http://internal.amazon.com/coral/com.amazonaws.lambda/"),
                        (name: "x-amzn-requestid", value: "lambda-req-\(status)"),
                    ],
                    body: (["Type": "User", "message": .string(message)] as JSONValue).serialized()
                )
            )
        }

        /// The fields of a Query-protocol request body, decoded.
        static func form(_ request: HTTPRequest) -> [String: String] {
            guard case .bytes(let bytes) = request.body else { return [:] }
            var fields: [String: String] = [:]
            for pair in String(decoding: bytes, as: UTF8.self).split(separator: "&") {
                let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map { percentDecoded(String($0)) }
                fields[parts[0]] = parts.count > 1 ? parts[1] : ""
            }
            return fields
        }

        static func percentDecoded(_ text: String) -> String {
            var bytes: [UInt8] = []
            var iterator = Array(text.utf8).makeIterator()
            while let byte = iterator.next() {
                if byte == UInt8(ascii: "%"), let high = iterator.next(), let low = iterator.next(),
                   let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
                {
                    bytes.append(value)
                } else {
                    bytes.append(byte)
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }

        /// A JSON request body, parsed.
        static func body(_ request: HTTPRequest) throws -> JSONValue {
            guard case .bytes(let bytes) = request.body else { throw AWSTestProcessError(description: "no byte body") }
            return try JSONParser.parse(bytes)
        }

        // MARK: Lambda

        @Test("UpdateAlias: PUT to the ARN path encoded once, the weights, RevisionId only when given")
        func updateAliasWire() async throws {
            let http = AWSTestScriptedHTTP([Self.ok(body: Self.aliasBody.serialized()), Self.ok(body: Self.aliasBody.serialized())])
            let lambda = LambdaClient(client: try client(.lambda, http))
            let alias = try await lambda.updateAlias(
                function: Self.functionArn, alias: "live", functionVersion: "1", additionalWeights: ["2": 0.25], revisionId: "rev-1"
            )
            #expect(alias == LambdaAlias(functionVersion: "1", additionalWeights: ["2": 0.25], revisionId: "rev-2"))
            _ = try await lambda.updateAlias(
                function: "checkout", alias: "live", functionVersion: "2", additionalWeights: [:], revisionId: nil
            )
            let requests = http.requests
            #expect(requests.count == 2)
            #expect(requests[0].method == "PUT")
            let encodedARN = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout"
            #expect(requests[0].url == Self.endpoint + "/2015-03-31/functions/\(encodedARN)/aliases/live")
            #expect(requests[0].headers.contains { $0.name == "content-type" && $0.value == "application/json" })
            #expect(
                try Self.body(requests[0])
                    == ["FunctionVersion": "1", "RoutingConfig": ["AdditionalVersionWeights": ["2": 0.25]], "RevisionId": "rev-1"]
            )
            #expect(try Self.body(requests[1]) == ["FunctionVersion": "2", "RoutingConfig": ["AdditionalVersionWeights": [:]]])
        }

        @Test("a stale RevisionId (412 PreconditionFailedException) is PreconditionFailed, not retried")
        func staleRevision() async throws {
            let http = AWSTestScriptedHTTP([
                Self.lambdaError(412, "PreconditionFailedException", "The Revision Id provided does not match the latest Revision Id.")
            ])
            let lambda = LambdaClient(client: try client(.lambda, http))
            do {
                _ = try await lambda.updateAlias(
                    function: "checkout", alias: "live", functionVersion: "1", additionalWeights: ["2": 0.5], revisionId: "stale"
                )
                Issue.record("the update succeeded")
            } catch {
                #expect(error.code == .preconditionFailed && error.code.kind == .fatal)
                #expect(error.message.contains("PreconditionFailedException") && error.message.contains("Revision Id"))
                #expect(error.upstream("code") == "PreconditionFailedException" && error.upstream("httpStatus") == 412)
                #expect(error.upstream("requestId") == "lambda-req-412")
            }
            #expect(http.requests.count == 1)
        }

        @Test("429 TooManyRequestsException is retried; the call succeeds on the third attempt")
        func throttledThenSucceeds() async throws {
            let sleeper = AWSTestSleepRecorder()
            let http = AWSTestScriptedHTTP([
                Self.lambdaError(429, "TooManyRequestsException", "Rate exceeded"),
                Self.lambdaError(429, "TooManyRequestsException", "Rate exceeded"),
                Self.ok(body: Self.aliasBody.serialized()),
            ])
            let lambda = LambdaClient(client: try client(.lambda, http, sleeper: sleeper))
            let alias = try await lambda.getAlias(function: "checkout", alias: "live")
            #expect(alias.revisionId == "rev-2")
            #expect(http.requests.count == 3)
            // Throttling backs off from a 1 s base (jitter 0.5 here).
            #expect(sleeper.sleeps == [.milliseconds(500), .seconds(1)])
        }

        @Test("429 on every attempt: Throttled with retryAfterMs after maxAttempts requests")
        func throttledOut() async throws {
            let http = AWSTestScriptedHTTP([], fallback: Self.lambdaError(429, "TooManyRequestsException", "Rate exceeded"))
            let lambda = LambdaClient(client: try client(.lambda, http))
            do {
                _ = try await lambda.publishVersion(function: "checkout")
                Issue.record("published")
            } catch {
                #expect(error.code == .throttled && error.code.kind == .recoverable)
                #expect(error.upstream("code") == "TooManyRequestsException" && error.data["retryAfterMs"] != nil)
            }
            #expect(http.requests.count == 3)
            #expect(http.requests.allSatisfy { $0.method == "POST" && $0.url.hasSuffix("/2015-03-31/functions/checkout/versions") })
        }

        @Test("InvalidParameterValueException is PreconditionFailed naming the code; ResourceConflictException is Unavailable")
        func invalidParameterAndConflict() async throws {
            let http = AWSTestScriptedHTTP([
                Self.lambdaError(400, "InvalidParameterValueException", "Alias with weights can not point to $LATEST"),
                Self.lambdaError(409, "ResourceConflictException", "An update is in progress for resource"),
            ])
            let lambda = LambdaClient(client: try client(.lambda, http))
            do {
                _ = try await lambda.updateAlias(
                    function: "checkout", alias: "live", functionVersion: "$LATEST", additionalWeights: ["2": 0.1], revisionId: nil
                )
                Issue.record("updated")
            } catch {
                #expect(error.code == .preconditionFailed)
                #expect(error.message.contains("InvalidParameterValueException") && error.message.contains("$LATEST"))
                #expect(error.upstream("code") == "InvalidParameterValueException")
            }
            do {
                _ = try await lambda.publishVersion(function: "checkout")
                Issue.record("published")
            } catch {
                #expect(error.code == .unavailable && error.message.contains("ResourceConflictException"))
            }
            #expect(http.requests.count == 2)
        }

        @Test("a weight outside 0…1 is InvalidParams and nothing is sent")
        func badWeight() async throws {
            let http = AWSTestScriptedHTTP([])
            let lambda = LambdaClient(client: try client(.lambda, http))
            for weight in [1.5, -0.1, Double.nan] {
                do {
                    _ = try await lambda.updateAlias(
                        function: "checkout", alias: "live", functionVersion: "1", additionalWeights: ["2": weight], revisionId: nil
                    )
                    Issue.record("accepted \(weight)")
                } catch {
                    #expect(error.code == .invalidParams && error.message.contains("version 2"))
                }
            }
            #expect(http.requests.isEmpty)
        }

        @Test("GetFunctionConfiguration: Qualifier in the query; NotFound is false, other errors are thrown")
        func versionExistsWire() async throws {
            let http = AWSTestScriptedHTTP([
                Self.ok(body: Array(#"{"FunctionName":"checkout","Version":"7"}"#.utf8)),
                Self.lambdaError(404, "ResourceNotFoundException", "Function not found"),
                Self.lambdaError(403, "AccessDeniedException", "no lambda:GetFunctionConfiguration"),
            ])
            let lambda = LambdaClient(client: try client(.lambda, http))
            #expect(try await lambda.versionExists(function: "checkout", version: "7"))
            #expect(try await lambda.versionExists(function: "checkout", version: "8") == false)
            await #expect(throws: RolloutError.self) { try await lambda.versionExists(function: "checkout", version: "9") }
            #expect(http.requests.map(\.method) == ["GET", "GET", "GET"])
            #expect(http.requests.first?.url == Self.endpoint + "/2015-03-31/functions/checkout/configuration?Qualifier=7")
        }

        @Test("Invoke: RequestResponse header, raw payload, FunctionError and ExecutedVersion read from the headers")
        func invokeWire() async throws {
            let http = AWSTestScriptedHTTP([
                Self.ok(
                    body: Array(#"{"errorMessage":"boom","errorType":"Error"}"#.utf8),
                    headers: [(name: "x-amz-function-error", value: "Unhandled"), (name: "x-amz-executed-version", value: "4")]
                )
            ])
            let lambda = LambdaClient(client: try client(.lambda, http))
            let payload = Array(#"{"hook":"beforeTraffic"}"#.utf8)
            let result = try await lambda.invoke(function: Self.functionArn, payload: payload)
            #expect(result.statusCode == 200 && result.functionError == "Unhandled" && result.executedVersion == "4")
            #expect(try JSONParser.parse(result.payload)["errorMessage"] == "boom")
            let sent = try #require(http.requests.first)
            #expect(sent.url.hasSuffix("/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Acheckout/invocations"))
            #expect(sent.headers.contains { $0.name == "x-amz-invocation-type" && $0.value == "RequestResponse" })
            guard case .bytes(let body) = sent.body else {
                Issue.record("no body")
                return
            }
            #expect(body == payload)
        }

        // MARK: CloudWatch

        static func alarmsPage(
            metric: [(String, String)], composite: [(String, String)] = [], next: String? = nil
        ) -> Result<HTTPResponse, HTTPError> {
            func members(_ alarms: [(String, String)]) -> String {
                alarms.map { "<member><AlarmName>\($0.0)</AlarmName><StateValue>\($0.1)</StateValue></member>" }.joined()
            }
            let token = next.map { "<NextToken>\($0)</NextToken>" } ?? ""
            let xml = """
                <DescribeAlarmsResponse xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"><DescribeAlarmsResult>\
                <CompositeAlarms>\(members(composite))</CompositeAlarms><MetricAlarms>\(members(metric))</MetricAlarms>\(token)\
                </DescribeAlarmsResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAlarmsResponse>
                """
            return .success(HTTPResponse(status: 200, headers: [], body: Array(xml.utf8)))
        }

        @Test("DescribeAlarms: 100 names per call, NextToken followed, metric and composite alarms both read")
        func alarmsPaging() async throws {
            let http = AWSTestScriptedHTTP([
                Self.alarmsPage(metric: [("a0", "OK")], composite: [("a1", "ALARM")], next: "page/2"),
                Self.alarmsPage(metric: [("a99", "INSUFFICIENT_DATA")]),
                Self.alarmsPage(metric: [("a149", "ALARM")]),
            ])
            let alarms = CloudWatchAlarms(client: try client(.cloudWatch, http))
            let names = (0..<150).map { "a\($0)" }
            let states = try await alarms.alarmStates(names: names)
            #expect(states == ["a0": "OK", "a1": "ALARM", "a99": "INSUFFICIENT_DATA", "a149": "ALARM"])
            let forms = http.requests.map(Self.form)
            #expect(forms.count == 3)
            for form in forms {
                #expect(form["Action"] == "DescribeAlarms" && form["Version"] == "2010-08-01")
                #expect(form["AlarmTypes.member.1"] == "CompositeAlarm" && form["AlarmTypes.member.2"] == "MetricAlarm")
            }
            #expect(forms[0]["AlarmNames.member.100"] == "a99" && forms[0]["AlarmNames.member.101"] == nil)
            #expect(forms[0]["NextToken"] == nil && forms[1]["NextToken"] == "page/2")
            #expect(forms[1]["AlarmNames.member.1"] == "a0" && forms[1]["AlarmNames.member.100"] == "a99")
            #expect(forms[2]["AlarmNames.member.1"] == "a100" && forms[2]["AlarmNames.member.50"] == "a149")
            #expect(forms[2]["AlarmNames.member.51"] == nil && forms[2]["NextToken"] == nil)
        }

        // MARK: SNS

        static let publishOK: Result<HTTPResponse, HTTPError> = .success(
            HTTPResponse(
                status: 200, headers: [],
                body: Array(
                    """
                    <PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>mid-1</MessageId>\
                    </PublishResult><ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></PublishResponse>
                    """.utf8
                )
            )
        )

        @Test("Publish: subject cleaned and cut to 99 characters; FIFO ids only on FIFO topics, hashed when not acceptable")
        func publishWire() async throws {
            let http = AWSTestScriptedHTTP([Self.publishOK, Self.publishOK, Self.publishOK])
            let sns = SNSPublisher(client: try client(.sns, http))
            let topic = "arn:aws:sns:us-east-1:123456789012:rollouts"
            let longSubject = "Deployment\r\nSucceeded\t" + String(repeating: "s", count: 200)
            let messageId = try await sns.publish(
                topicArn: topic, subject: longSubject, message: "m", deduplicationId: "d-1/Start", groupId: "d-1"
            )
            #expect(messageId == "mid-1")
            _ = try await sns.publish(topicArn: topic + ".fifo", subject: "", message: "m", deduplicationId: "d-1/Start", groupId: "d-1")
            _ = try await sns.publish(
                topicArn: topic + ".fifo", subject: "s", message: "m", deduplicationId: "d 1/Start",
                groupId: String(repeating: "g", count: 129)
            )
            let forms = http.requests.map(Self.form)
            #expect(forms[0]["Action"] == "Publish" && forms[0]["Version"] == "2010-03-31" && forms[0]["TopicArn"] == topic)
            #expect(forms[0]["Subject"] == "Deployment  Succeeded " + String(repeating: "s", count: 77))
            #expect(forms[0]["Subject"]?.count == 99)
            #expect(forms[0]["MessageAttributes.entry.1.Name"] == "rolloutd.dedup")
            #expect(forms[0]["MessageAttributes.entry.1.Value.DataType"] == "String")
            #expect(forms[0]["MessageAttributes.entry.1.Value.StringValue"] == "d-1/Start")
            #expect(forms[0]["MessageGroupId"] == nil && forms[0]["MessageDeduplicationId"] == nil)
            #expect(forms[1]["Subject"] == nil)
            #expect(forms[1]["MessageGroupId"] == "d-1" && forms[1]["MessageDeduplicationId"] == "d-1/Start")
            // A space is not allowed in a FIFO id, and 129 characters are too many: both hashed.
            #expect(forms[2]["MessageDeduplicationId"] == "a334a403bab728599a7e99ce632cac7002bd6355d07d1308f06a1ecf9548fac7")
            #expect(forms[2]["MessageGroupId"]?.count == 64 && forms[2]["MessageGroupId"] != forms[2]["MessageDeduplicationId"])
            #expect(forms[2]["MessageAttributes.entry.1.Value.StringValue"] == "d 1/Start")
        }

        @Test("an SNS error document maps like every Query error: NotFound for a missing topic")
        func publishNotFound() async throws {
            let xml = """
                <ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Sender</Type><Code>NotFound</Code>\
                <Message>Topic does not exist</Message></Error><RequestId>sns-req</RequestId></ErrorResponse>
                """
            let http = AWSTestScriptedHTTP([.success(HTTPResponse(status: 404, headers: [], body: Array(xml.utf8)))])
            let sns = SNSPublisher(client: try client(.sns, http))
            do {
                _ = try await sns.publish(
                    topicArn: "arn:aws:sns:us-east-1:1:none", subject: "s", message: "m", deduplicationId: "d", groupId: "g"
                )
                Issue.record("published")
            } catch {
                #expect(error.code == .notFound && error.upstream("code") == "NotFound" && error.upstream("requestId") == "sns-req")
            }
        }
    }
}
