import AWSConfig
public import CurlHTTP
public import RolloutCore
import AWSSigV4

/// The Lambda calls of the native rollout engine (SPEC §4.6), over Lambda's rest-json protocol
/// through an ``AWSClient`` for the Lambda endpoint.
///
/// - Function names may be names, partial ARNs or full ARNs: each path segment is
///   percent-encoded (`:` becomes `%3A`; the signer encodes the path once more, as SigV4 wants
///   for every service but S3).
/// - ``updateAlias(function:alias:functionVersion:additionalWeights:revisionId:)`` always sends
///   `RoutingConfig`: Lambda keeps the old routing when it is left out, and an empty
///   `AdditionalVersionWeights` map is how the split is removed.
/// - Errors (SPEC §3.1) come from ``AWSErrorMapping``: `ResourceNotFoundException` → NotFound,
///   `PreconditionFailedException` (HTTP 412, a stale `RevisionId`) → PreconditionFailed, not
///   retried, `TooManyRequestsException` (HTTP 429) → retried, then Throttled. Two Lambda codes
///   are read differently here: `InvalidParameterValueException` is PreconditionFailed (the
///   request is well formed; the function, alias or version is not in a state that allows
///   it, e.g. a weight on `$LATEST`), and `ResourceConflictException` ("an update is in
///   progress") is Unavailable, so the caller may try again. The upstream code stays in the
///   message and in `data.upstream.code`.
public struct LambdaClient: LambdaControl {
    /// The API version prefix of every Lambda path.
    static let apiPrefix = "/2015-03-31/functions/"
    /// The largest synchronous invocation response Lambda returns is 6 MB; a little more is
    /// accepted so Lambda's own limit, not ours, decides.
    public static let maxInvokeResponseBytes = 8 << 20
    /// The largest control-plane response accepted.
    static let responseLimit = 1 << 20

    private let client: AWSClient
    private let timeouts: HTTPTimeouts
    private let invokeTimeouts: HTTPTimeouts

    /// Calls Lambda through `client` (a Lambda client).
    ///
    /// - Parameters:
    ///   - timeouts: per attempt, for the control-plane calls.
    ///   - invokeTimeouts: per attempt, for ``invoke(function:payload:)``. A synchronous
    ///     invocation sends no byte until the function returns, so both the total and the
    ///     stall limits must exceed the function's timeout (Lambda's longest is 15 minutes).
    public init(
        client: AWSClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15)),
        invokeTimeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(16 * 60), stall: .seconds(16 * 60))
    ) {
        self.client = client
        self.timeouts = timeouts
        self.invokeTimeouts = invokeTimeouts
    }

    /// `GetAlias`.
    public func getAlias(function: String, alias: String) async throws(RolloutError) -> LambdaAlias {
        let response = try await call(
            "GetAlias", method: "GET", path: Self.path(function, "aliases", alias), function: function
        )
        return try parseAlias("GetAlias", response)
    }

    /// `UpdateAlias` with `FunctionVersion`, `RoutingConfig.AdditionalVersionWeights` (an empty
    /// map removes the split) and, when given, `RevisionId`. Weights must be finite and within
    /// 0…1 (InvalidParams otherwise, before anything is sent).
    public func updateAlias(
        function: String, alias: String, functionVersion: String, additionalWeights: [String: Double], revisionId: String?
    ) async throws(RolloutError) -> LambdaAlias {
        var weights = JSONObject()
        for version in additionalWeights.keys.sorted() {
            let weight = additionalWeights[version]!
            guard weight.isFinite, (0...1).contains(weight) else {
                throw .invalidParams("the weight of version \(version) must be between 0 and 1, got \(weight)")
            }
            weights[version] = .number(JSONNumber(weight))
        }
        var body: JSONObject = [
            "FunctionVersion": .string(functionVersion),
            "RoutingConfig": ["AdditionalVersionWeights": .object(weights)],
        ]
        if let revisionId { body["RevisionId"] = .string(revisionId) }
        let response = try await call(
            "UpdateAlias", method: "PUT", path: Self.path(function, "aliases", alias), body: .object(body), function: function
        )
        return try parseAlias("UpdateAlias", response)
    }

    /// `PublishVersion` of `$LATEST`. When nothing changed since the last publish, Lambda
    /// answers with that version instead of a new one.
    public func publishVersion(function: String) async throws(RolloutError) -> String {
        let response = try await call(
            "PublishVersion", method: "POST", path: Self.path(function, "versions"), body: .object([:]), function: function
        )
        let json = try parseJSON("PublishVersion", response)
        guard let version = json["Version"]?.stringValue, !version.isEmpty else {
            throw malformed("PublishVersion", "Version")
        }
        return version
    }

    /// `GetFunctionConfiguration` with `Qualifier = version`: true when Lambda describes that
    /// very version, false when it answers NotFound (no such function or version) or resolves
    /// the qualifier to another version (the qualifier was an alias name).
    public func versionExists(function: String, version: String) async throws(RolloutError) -> Bool {
        let response: HTTPResponse
        do {
            response = try await call(
                "GetFunctionConfiguration", method: "GET", path: Self.path(function, "configuration"),
                query: [(name: "Qualifier", value: version)], function: function
            )
        } catch where error.code == .notFound {
            return false
        }
        let json = try parseJSON("GetFunctionConfiguration", response)
        guard let described = json["Version"]?.stringValue else {
            throw malformed("GetFunctionConfiguration", "Version")
        }
        return described == version
    }

    /// `Invoke` with `X-Amz-Invocation-Type: RequestResponse`. A function that raised still
    /// answers HTTP 200: ``LambdaInvocation/functionError`` (`X-Amz-Function-Error`) tells.
    ///
    /// Like every call this one is retried after throttling, a 5xx or a lost connection, so a
    /// hook function may run more than once.
    public func invoke(function: String, payload: [UInt8]) async throws(RolloutError) -> LambdaInvocation {
        let response = try await call(
            "Invoke", method: "POST", path: Self.path(function, "invocations"),
            headers: [(name: "x-amz-invocation-type", value: "RequestResponse")], rawBody: payload,
            function: function, timeouts: invokeTimeouts, responseLimit: Self.maxInvokeResponseBytes
        )
        return LambdaInvocation(
            statusCode: response.status,
            functionError: response.header("x-amz-function-error").flatMap { $0.isEmpty ? nil : $0 },
            executedVersion: response.header("x-amz-executed-version").flatMap { $0.isEmpty ? nil : $0 },
            payload: response.body
        )
    }

    // MARK: Helpers

    /// `/2015-03-31/functions/<function>/<segments...>`, each segment percent-encoded.
    static func path(_ function: String, _ segments: String...) -> String {
        ([apiPrefix + SigV4Signer.encodeURIComponent(function)] + segments.map(SigV4Signer.encodeURIComponent))
            .joined(separator: "/")
    }

    private func call(
        _ operation: String,
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        headers: [(name: String, value: String)] = [],
        body: JSONValue? = nil,
        rawBody: [UInt8]? = nil,
        function: String,
        timeouts: HTTPTimeouts? = nil,
        responseLimit: Int = LambdaClient.responseLimit
    ) async throws(RolloutError) -> HTTPResponse {
        guard !function.isEmpty else { throw .invalidParams("function must be a Lambda function name or ARN") }
        var headers = headers
        var requestBody = HTTPRequestBody.empty
        if let body {
            headers.append((name: "content-type", value: "application/json"))
            requestBody = .bytes(body.serialized())
        } else if let rawBody {
            requestBody = .bytes(rawBody)
        }
        let request = AWSRequest(operation: operation, method: method, path: path, query: query, headers: headers, body: requestBody)
        do {
            return try await client.send(request, sink: .memory(limit: responseLimit), timeouts: timeouts ?? self.timeouts)
        } catch {
            throw Self.remap(error)
        }
    }

    /// PreconditionFailed for `InvalidParameterValueException`, Unavailable for
    /// `ResourceConflictException`; anything else unchanged.
    static func remap(_ error: RolloutError) -> RolloutError {
        switch error.data["upstream"]?["code"]?.stringValue {
        case "InvalidParameterValueException":
            RolloutError(.preconditionFailed, error.message, data: error.data)
        case "ResourceConflictException":
            RolloutError(.unavailable, "\(error.message); another change to the function is in progress", data: error.data)
        default:
            error
        }
    }

    private func parseJSON(_ operation: String, _ response: HTTPResponse) throws(RolloutError) -> JSONValue {
        guard let json = try? JSONParser.parse(response.body), json.objectValue != nil else {
            throw client.malformedResponse(operation: operation, response: response, expected: "a JSON object")
        }
        return json
    }

    /// `AliasConfiguration`: `FunctionVersion`, `RoutingConfig.AdditionalVersionWeights`
    /// (absent or null: no split), `RevisionId`.
    private func parseAlias(_ operation: String, _ response: HTTPResponse) throws(RolloutError) -> LambdaAlias {
        let json = try parseJSON(operation, response)
        guard let version = json["FunctionVersion"]?.stringValue, let revisionId = json["RevisionId"]?.stringValue else {
            throw malformed(operation, "FunctionVersion and RevisionId")
        }
        var weights: [String: Double] = [:]
        for (name, value) in json["RoutingConfig"]?["AdditionalVersionWeights"]?.objectValue ?? [:] {
            guard let weight = value.doubleValue else { throw malformed(operation, "numeric AdditionalVersionWeights") }
            weights[name] = weight
        }
        return LambdaAlias(functionVersion: version, additionalWeights: weights, revisionId: revisionId)
    }

    private func malformed(_ operation: String, _ expected: String) -> RolloutError {
        RolloutError(
            .unavailable, "\(client.service.serviceID) \(operation) returned a response without \(expected)",
            data: ["upstream": .object(["service": .string(client.service.explainKey)])]
        )
    }
}
