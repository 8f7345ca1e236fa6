import AWSConfig
public import CurlHTTP
public import RolloutCore
import AWSSigV4

extension AWSClient {
    /// Calls an AWS JSON 1.0/1.1 operation: `POST /` with `X-Amz-Target: <target>` and
    /// `Content-Type: application/x-amz-json-<jsonVersion>` (SQS, which is query-compatible,
    /// also gets `x-amzn-query-mode: true`), and returns the parsed response body (`{}` for an
    /// empty one).
    ///
    /// - Parameters:
    ///   - target: `<targetPrefix>.<Operation>`, e.g. `secretsmanager.GetSecretValue`,
    ///     `AmazonSQS.ReceiveMessage`.
    ///   - jsonVersion: `1.0` or `1.1`.
    ///   - body: the request members.
    ///   - isLongPoll: see ``AWSRequest/isLongPoll``.
    ///   - timeouts: per attempt (a long poll's total must exceed its wait).
    ///   - responseLimit: the largest response body accepted.
    public func jsonCall(
        target: String,
        jsonVersion: String = "1.1",
        body: JSONValue,
        isLongPoll: Bool = false,
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        responseLimit: Int = 16 << 20
    ) async throws(RolloutError) -> JSONValue {
        let outcome = try await jsonCall(
            target: target, jsonVersion: jsonVersion, body: body, acceptedErrorCodes: [], isLongPoll: isLongPoll,
            timeouts: timeouts, responseLimit: responseLimit
        )
        switch outcome {
        case .success(let value): return value
        case .serviceError(_, let value): return value
        }
    }

    /// ``jsonCall(target:jsonVersion:body:isLongPoll:timeouts:responseLimit:)`` for an
    /// operation some of whose errors are answers: an error response whose code is in
    /// `acceptedErrorCodes` comes back as ``JSONCallOutcome/serviceError(code:body:)`` with its
    /// parsed body instead of being thrown.
    public func jsonCall(
        target: String,
        jsonVersion: String = "1.1",
        body: JSONValue,
        acceptedErrorCodes: Set<String>,
        isLongPoll: Bool = false,
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        responseLimit: Int = 16 << 20
    ) async throws(RolloutError) -> JSONCallOutcome {
        let operation = target.split(separator: ".").last.map(String.init) ?? target
        var headers: [(name: String, value: String)] = [
            (name: "content-type", value: "application/x-amz-json-\(jsonVersion)"),
            (name: "x-amz-target", value: target),
        ]
        if service == .sqs {
            headers.append((name: "x-amzn-query-mode", value: "true"))
        }
        var request = AWSRequest(
            operation: operation, method: "POST", path: "/", headers: headers, body: .bytes(body.serialized()),
            isLongPoll: isLongPoll
        )
        request.acceptedErrorCodes = acceptedErrorCodes
        let response = try await send(request, sink: .memory(limit: responseLimit), timeouts: timeouts)
        let parsed: JSONValue
        if response.body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            parsed = .object([:])
        } else {
            do {
                parsed = try JSONParser.parse(response.body)
            } catch {
                throw malformedResponse(operation: operation, response: response, expected: "JSON")
            }
        }
        guard !(200..<300).contains(response.status) else { return .success(parsed) }
        let code = AWSServiceError.parse(response, body: response.body).allCodes.first(where: acceptedErrorCodes.contains)
        return .serviceError(code: code ?? "", body: parsed)
    }

    /// Calls a Query-protocol operation (STS, SNS, CloudWatch): `POST /` with the form body
    /// `Action=<action>&Version=<version>&<params>` (RFC 3986 encoded) and returns the XML
    /// response body. Parameter names use the protocol's flattening (`Tags.member.1.Key`).
    ///
    /// - Parameter isUnsigned: send without SigV4 (STS `AssumeRoleWithWebIdentity`).
    public func queryCall(
        action: String,
        version: String,
        params: [(name: String, value: String)] = [],
        isUnsigned: Bool = false,
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        responseLimit: Int = 16 << 20
    ) async throws(RolloutError) -> [UInt8] {
        var form = "Action=\(SigV4Signer.encodeURIComponent(action))&Version=\(SigV4Signer.encodeURIComponent(version))"
        for (name, value) in params {
            form += "&\(SigV4Signer.encodeURIComponent(name))=\(SigV4Signer.encodeURIComponent(value))"
        }
        let request = AWSRequest(
            operation: action, method: "POST", path: "/",
            headers: [(name: "content-type", value: "application/x-www-form-urlencoded; charset=utf-8")],
            body: .bytes(Array(form.utf8)), isUnsigned: isUnsigned
        )
        return try await send(request, sink: .memory(limit: responseLimit), timeouts: timeouts).body
    }

    /// ``queryCall(action:version:params:isUnsigned:timeouts:responseLimit:)`` with the
    /// response parsed: the root element (`<AssumeRoleResponse>`, ...).
    public func queryCallXML(
        action: String,
        version: String,
        params: [(name: String, value: String)] = [],
        isUnsigned: Bool = false,
        timeouts: HTTPTimeouts = HTTPTimeouts(),
        responseLimit: Int = 16 << 20
    ) async throws(RolloutError) -> AWSXMLElement {
        let body = try await queryCall(
            action: action, version: version, params: params, isUnsigned: isUnsigned, timeouts: timeouts,
            responseLimit: responseLimit
        )
        do {
            return try AWSXML.parse(body)
        } catch {
            throw RolloutError(
                .unavailable, "\(service.serviceID) \(action) returned a response that is not XML (\(error.reason))",
                data: ["upstream": .object(["service": .string(service.explainKey), "httpStatus": 200])]
            )
        }
    }

    /// Unavailable for a 2xx response whose body is not what the protocol promises; the body
    /// itself is never quoted (it may hold a secret).
    func malformedResponse(operation: String, response: HTTPResponse, expected: String) -> RolloutError {
        var upstream: JSONObject = [
            "service": .string(service.explainKey), "httpStatus": .number(JSONNumber(response.status)),
        ]
        if let requestId = AWSServiceError.requestId(in: response) { upstream["requestId"] = .string(requestId) }
        return RolloutError(
            .unavailable, "\(service.serviceID) \(operation) returned a response that is not \(expected)",
            data: ["upstream": .object(upstream)]
        )
    }
}

/// What ``AWSClient/jsonCall(target:jsonVersion:body:acceptedErrorCodes:isLongPoll:timeouts:responseLimit:)``
/// got back.
public enum JSONCallOutcome: Sendable {
    /// A 2xx response's body (`{}` when empty).
    case success(JSONValue)
    /// An error response with one of the accepted codes, and its body.
    case serviceError(code: String, body: JSONValue)
}
