/// A Lambda alias as `GetAlias` / `UpdateAlias` return it.
public struct LambdaAlias: Sendable, Hashable {
    /// The primary version (`FunctionVersion`).
    public var functionVersion: String
    /// `RoutingConfig.AdditionalVersionWeights`: version → share of traffic (0…1).
    public var additionalWeights: [String: Double]
    /// The alias `RevisionId`, used as a fencing token by ``LambdaControl/updateAlias(function:alias:functionVersion:additionalWeights:revisionId:)``.
    public var revisionId: String

    /// Creates an alias description.
    public init(functionVersion: String, additionalWeights: [String: Double] = [:], revisionId: String) {
        self.functionVersion = functionVersion
        self.additionalWeights = additionalWeights
        self.revisionId = revisionId
    }
}

/// The outcome of a synchronous (`RequestResponse`) Lambda invocation.
public struct LambdaInvocation: Sendable, Hashable {
    /// The HTTP status Lambda answered with (200 for a synchronous call that ran).
    public var statusCode: Int
    /// `X-Amz-Function-Error` (`Unhandled`, `Handled`) when the function raised.
    public var functionError: String?
    /// `X-Amz-Executed-Version`, when Lambda reports it.
    public var executedVersion: String?
    /// The function's response payload (at most 6 MB).
    public var payload: [UInt8]

    /// Creates an invocation result.
    public init(statusCode: Int, functionError: String? = nil, executedVersion: String? = nil, payload: [UInt8] = []) {
        self.statusCode = statusCode
        self.functionError = functionError
        self.executedVersion = executedVersion
        self.payload = payload
    }
}

/// The Lambda calls the rollout engines make. Errors are `RolloutError`s mapped per SPEC §3.1:
/// `ResourceNotFoundException` → NotFound, `PreconditionFailedException` (a stale `RevisionId`)
/// → PreconditionFailed, `TooManyRequestsException` → retried, then Throttled.
public protocol LambdaControl: Sendable {
    /// `GetAlias`.
    func getAlias(function: String, alias: String) async throws(RolloutError) -> LambdaAlias

    /// `UpdateAlias` setting `FunctionVersion` and `RoutingConfig.AdditionalVersionWeights`
    /// (an empty map clears them), fenced by `revisionId` when given. Returns the alias after the change.
    func updateAlias(
        function: String, alias: String, functionVersion: String, additionalWeights: [String: Double], revisionId: String?
    ) async throws(RolloutError) -> LambdaAlias

    /// `PublishVersion` of `$LATEST`; returns the new version number.
    func publishVersion(function: String) async throws(RolloutError) -> String

    /// `GetFunctionConfiguration` with `Qualifier = version`: false when Lambda answers NotFound.
    func versionExists(function: String, version: String) async throws(RolloutError) -> Bool

    /// `Invoke` with `InvocationType = RequestResponse`.
    func invoke(function: String, payload: [UInt8]) async throws(RolloutError) -> LambdaInvocation
}

/// CloudWatch `DescribeAlarms` for the rollout engine's alarm polling.
public protocol AlarmStateReader: Sendable {
    /// The `StateValue` (`OK`, `ALARM`, `INSUFFICIENT_DATA`) of each named alarm that exists.
    /// Names that do not exist are absent from the result.
    func alarmStates(names: [String]) async throws(RolloutError) -> [String: String]
}

/// SNS `Publish` for rollout notifications.
public protocol NotificationPublisher: Sendable {
    /// Publishes `message` to `topicArn` and returns the SNS message id. `deduplicationId` is
    /// stable per (deployment, event): it becomes `MessageDeduplicationId` (and the group id is
    /// the deployment) on FIFO topics, and a `rolloutd.dedup` message attribute on every topic.
    func publish(
        topicArn: String, subject: String, message: String, deduplicationId: String, groupId: String
    ) async throws(RolloutError) -> String
}
