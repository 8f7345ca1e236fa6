import AWSConfig
public import CurlHTTP
public import RolloutCore

/// Typed AWS CodeDeploy calls (AWS JSON 1.1, `X-Amz-Target: CodeDeploy_20141006.<Op>`), the
/// subset the `codedeploy` rollout engine needs. Shapes follow botocore's
/// `codedeploy/2014-10-06/service-2.json`.
///
/// Errors are `RolloutError`s mapped by ``AWSErrorMapping``: `DeploymentDoesNotExistException`
/// → NotFound, `DeploymentAlreadyCompletedException` and `LifecycleEventAlreadyCompletedException`
/// → PreconditionFailed, `DeploymentLimitExceededException` → Conflict, `ThrottlingException`
/// → retried, then Throttled. The upstream code is in `data.upstream.code`.
public struct CodeDeployClient: Sendable {
    /// The JSON target prefix of every operation.
    static let targetPrefix = "CodeDeploy_20141006"

    /// The underlying client (service ``AWSService/codeDeploy``).
    public let client: AWSClient
    private let timeouts: HTTPTimeouts

    /// Calls CodeDeploy through `client`.
    ///
    /// - Parameter timeouts: per attempt; every CodeDeploy answer is small.
    public init(
        client: AWSClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    ) {
        self.client = client
        self.timeouts = timeouts
    }

    // MARK: Deployments

    /// `CreateDeployment` of an AppSpec revision; returns the new deployment id.
    ///
    /// - Parameters:
    ///   - autoRollbackEvents: overrides the group's `autoRollbackConfiguration` with these
    ///     events (`DEPLOYMENT_FAILURE`, `DEPLOYMENT_STOP_ON_ALARM`, `DEPLOYMENT_STOP_ON_REQUEST`);
    ///     nil keeps the group's.
    ///   - alarms: overrides the group's `alarmConfiguration` with these alarm names when not empty.
    public func createDeployment(
        applicationName: String,
        deploymentGroupName: String,
        deploymentConfigName: String,
        appSpec: AppSpec,
        description: String?,
        autoRollbackEvents: [String]? = nil,
        alarms: [String] = []
    ) async throws(RolloutError) -> String {
        var body: JSONObject = [
            "applicationName": .string(applicationName),
            "deploymentGroupName": .string(deploymentGroupName),
            "deploymentConfigName": .string(deploymentConfigName),
            "revision": [
                "revisionType": "AppSpecContent",
                "appSpecContent": ["content": .string(appSpec.content), "sha256": .string(appSpec.sha256)],
            ],
        ]
        if let description { body["description"] = .string(description) }
        if let autoRollbackEvents {
            body["autoRollbackConfiguration"] = ["enabled": true, "events": .array(autoRollbackEvents.map(JSONValue.string))]
        }
        if !alarms.isEmpty {
            body["overrideAlarmConfiguration"] = [
                "enabled": true, "ignorePollAlarmFailure": false,
                "alarms": .array(alarms.map { ["name": .string($0)] }),
            ]
        }
        let response = try await call("CreateDeployment", body)
        return try requiredString(response["deploymentId"], "deploymentId", operation: "CreateDeployment")
    }

    /// `GetDeployment`.
    public func getDeployment(_ deploymentId: String) async throws(RolloutError) -> DeploymentInfo {
        let response = try await call("GetDeployment", ["deploymentId": .string(deploymentId)])
        guard let info = response["deploymentInfo"]?.objectValue, let status = info["status"]?.stringValue else {
            throw malformed("GetDeployment", "no deploymentInfo.status")
        }
        return DeploymentInfo(
            deploymentId: info["deploymentId"]?.stringValue ?? deploymentId,
            applicationName: info["applicationName"]?.stringValue,
            deploymentGroupName: info["deploymentGroupName"]?.stringValue,
            deploymentConfigName: info["deploymentConfigName"]?.stringValue,
            status: status,
            errorCode: Self.nonEmpty(info["errorInformation"]?["code"]),
            errorMessage: Self.nonEmpty(info["errorInformation"]?["message"]),
            createTime: Self.timestamp(info["createTime"]),
            startTime: Self.timestamp(info["startTime"]),
            completeTime: Self.timestamp(info["completeTime"]),
            creator: info["creator"]?.stringValue,
            description: info["description"]?.stringValue,
            rollbackDeploymentId: Self.nonEmpty(info["rollbackInfo"]?["rollbackDeploymentId"]),
            rollbackTriggeringDeploymentId: Self.nonEmpty(info["rollbackInfo"]?["rollbackTriggeringDeploymentId"]),
            rollbackMessage: Self.nonEmpty(info["rollbackInfo"]?["rollbackMessage"]),
            appSpecContent: info["revision"]?["appSpecContent"]?["content"]?.stringValue,
            appSpecSHA256: info["revision"]?["appSpecContent"]?["sha256"]?.stringValue
        )
    }

    /// One page of `ListDeployments` for a deployment group, newest first as CodeDeploy
    /// answers; `nextToken` is nil on the last page.
    public func listDeployments(
        applicationName: String,
        deploymentGroupName: String,
        includeOnlyStatuses: [String],
        nextToken: String?
    ) async throws(RolloutError) -> (deploymentIds: [String], nextToken: String?) {
        var body: JSONObject = [
            "applicationName": .string(applicationName),
            "deploymentGroupName": .string(deploymentGroupName),
        ]
        if !includeOnlyStatuses.isEmpty { body["includeOnlyStatuses"] = .array(includeOnlyStatuses.map(JSONValue.string)) }
        if let nextToken { body["nextToken"] = .string(nextToken) }
        let response = try await call("ListDeployments", body)
        let ids = (response["deployments"]?.arrayValue ?? []).compactMap(\.stringValue)
        return (ids, Self.nonEmpty(response["nextToken"]))
    }

    /// `StopDeployment`; returns `status` (`Pending` while lifecycle events still run, or
    /// `Succeeded`) and `statusMessage`.
    @discardableResult
    public func stopDeployment(
        _ deploymentId: String, autoRollbackEnabled: Bool
    ) async throws(RolloutError) -> (status: String?, message: String?) {
        let response = try await call(
            "StopDeployment", ["deploymentId": .string(deploymentId), "autoRollbackEnabled": .bool(autoRollbackEnabled)]
        )
        return (response["status"]?.stringValue, response["statusMessage"]?.stringValue)
    }

    /// `PutLifecycleEventHookExecutionStatus`.
    public func putLifecycleEventHookExecutionStatus(
        deploymentId: String, lifecycleEventHookExecutionId: String, status: String
    ) async throws(RolloutError) {
        _ = try await call(
            "PutLifecycleEventHookExecutionStatus",
            [
                "deploymentId": .string(deploymentId),
                "lifecycleEventHookExecutionId": .string(lifecycleEventHookExecutionId),
                "status": .string(status),
            ]
        )
    }

    // MARK: Deployment configs

    /// `GetDeploymentConfig`: the config's compute platform and traffic routing (nil when it
    /// has none or an unknown type). NotFound (`DeploymentConfigDoesNotExistException`) when
    /// it does not exist.
    public func getDeploymentConfig(
        _ name: String
    ) async throws(RolloutError) -> (computePlatform: String?, trafficRouting: TrafficRouting?) {
        let response = try await call("GetDeploymentConfig", ["deploymentConfigName": .string(name)])
        guard let info = response["deploymentConfigInfo"]?.objectValue else {
            throw malformed("GetDeploymentConfig", "no deploymentConfigInfo")
        }
        return (info["computePlatform"]?.stringValue, info["trafficRoutingConfig"].flatMap(TrafficRouting.init(json:)))
    }

    /// `CreateDeploymentConfig` for `computePlatform: Lambda`; returns the config id.
    @discardableResult
    public func createDeploymentConfig(name: String, trafficRouting: TrafficRouting) async throws(RolloutError) -> String? {
        let response = try await call(
            "CreateDeploymentConfig",
            [
                "deploymentConfigName": .string(name),
                "computePlatform": "Lambda",
                "trafficRoutingConfig": trafficRouting.json,
            ]
        )
        return response["deploymentConfigId"]?.stringValue
    }

    // MARK: Targets

    /// One page of `ListDeploymentTargets` (a Lambda deployment has one target).
    public func listDeploymentTargets(
        _ deploymentId: String, nextToken: String? = nil
    ) async throws(RolloutError) -> (targetIds: [String], nextToken: String?) {
        var body: JSONObject = ["deploymentId": .string(deploymentId)]
        if let nextToken { body["nextToken"] = .string(nextToken) }
        let response = try await call("ListDeploymentTargets", body)
        return ((response["targetIds"]?.arrayValue ?? []).compactMap(\.stringValue), Self.nonEmpty(response["nextToken"]))
    }

    /// `BatchGetDeploymentTargets`: the Lambda targets among `targetIds` (at most 25).
    public func batchGetDeploymentTargets(
        _ deploymentId: String, targetIds: [String]
    ) async throws(RolloutError) -> [LambdaTarget] {
        let response = try await call(
            "BatchGetDeploymentTargets",
            ["deploymentId": .string(deploymentId), "targetIds": .array(targetIds.map(JSONValue.string))]
        )
        return (response["deploymentTargets"]?.arrayValue ?? []).compactMap { target in
            guard let lambda = target["lambdaTarget"]?.objectValue else { return nil }
            let info = lambda["lambdaFunctionInfo"]
            return LambdaTarget(
                targetId: lambda["targetId"]?.stringValue ?? "",
                status: lambda["status"]?.stringValue,
                targetVersionWeight: info?["targetVersionWeight"]?.doubleValue,
                currentVersion: info?["currentVersion"]?.stringValue,
                targetVersion: info?["targetVersion"]?.stringValue,
                lifecycleEvents: (lambda["lifecycleEvents"]?.arrayValue ?? []).compactMap { event in
                    guard let name = event["lifecycleEventName"]?.stringValue else { return nil }
                    return LifecycleEvent(
                        name: name,
                        status: event["status"]?.stringValue,
                        startTime: Self.timestamp(event["startTime"]),
                        endTime: Self.timestamp(event["endTime"]),
                        message: Self.nonEmpty(event["diagnostics"]?["message"])
                    )
                }
            )
        }
    }

    // MARK: Plumbing

    private func call(_ operation: String, _ body: JSONObject) async throws(RolloutError) -> JSONValue {
        try await client.jsonCall(
            target: "\(Self.targetPrefix).\(operation)", jsonVersion: "1.1", body: .object(body), timeouts: timeouts,
            responseLimit: 1 << 20
        )
    }

    private func requiredString(_ value: JSONValue?, _ member: String, operation: String) throws(RolloutError) -> String {
        guard let string = value?.stringValue, !string.isEmpty else { throw malformed(operation, "no \(member)") }
        return string
    }

    /// Unavailable: a 2xx answer without what the model promises.
    private func malformed(_ operation: String, _ what: String) -> RolloutError {
        RolloutError(
            .unavailable, "CodeDeploy \(operation) returned a response with \(what)",
            data: ["upstream": .object(["service": .string(client.service.explainKey), "httpStatus": 200])]
        )
    }

    /// A string member, nil when absent, null or empty (moto answers `{}` for absent structures).
    static func nonEmpty(_ value: JSONValue?) -> String? {
        guard let string = value?.stringValue, !string.isEmpty else { return nil }
        return string
    }

    /// Seconds since the epoch from a JSON 1.1 timestamp: a number (what AWS sends) or an
    /// RFC 3339 string (what moto sends).
    static func timestamp(_ value: JSONValue?) -> Double? {
        if let seconds = value?.doubleValue { return seconds }
        return value?.stringValue.flatMap(RFC3339.parse)
    }
}

extension CodeDeployClient {
    /// What `GetDeployment` tells about a deployment (`DeploymentInfo`), reduced to what the
    /// engine reads. Times are seconds since the epoch.
    public struct DeploymentInfo: Sendable, Hashable {
        /// The deployment id.
        public var deploymentId: String
        /// The application.
        public var applicationName: String?
        /// The deployment group.
        public var deploymentGroupName: String?
        /// The deployment config.
        public var deploymentConfigName: String?
        /// `Created`, `Queued`, `InProgress`, `Baking`, `Ready`, `Succeeded`, `Failed` or `Stopped`.
        public var status: String
        /// `errorInformation.code`, e.g. `HOOK_EXECUTION_FAILURE`.
        public var errorCode: String?
        /// `errorInformation.message`.
        public var errorMessage: String?
        /// When it was created.
        public var createTime: Double?
        /// When it started.
        public var startTime: Double?
        /// When it reached a terminal status.
        public var completeTime: Double?
        /// `user`, `codeDeployRollback`, ...
        public var creator: String?
        /// The description given at creation.
        public var description: String?
        /// `rollbackInfo.rollbackDeploymentId`: the deployment that rolls this one back.
        public var rollbackDeploymentId: String?
        /// `rollbackInfo.rollbackTriggeringDeploymentId`: the deployment this one rolls back.
        public var rollbackTriggeringDeploymentId: String?
        /// `rollbackInfo.rollbackMessage`.
        public var rollbackMessage: String?
        /// `revision.appSpecContent.content`.
        public var appSpecContent: String?
        /// `revision.appSpecContent.sha256`.
        public var appSpecSHA256: String?

        /// Creates a description.
        public init(
            deploymentId: String, applicationName: String? = nil, deploymentGroupName: String? = nil,
            deploymentConfigName: String? = nil, status: String, errorCode: String? = nil, errorMessage: String? = nil,
            createTime: Double? = nil, startTime: Double? = nil, completeTime: Double? = nil, creator: String? = nil,
            description: String? = nil, rollbackDeploymentId: String? = nil, rollbackTriggeringDeploymentId: String? = nil,
            rollbackMessage: String? = nil, appSpecContent: String? = nil, appSpecSHA256: String? = nil
        ) {
            self.deploymentId = deploymentId
            self.applicationName = applicationName
            self.deploymentGroupName = deploymentGroupName
            self.deploymentConfigName = deploymentConfigName
            self.status = status
            self.errorCode = errorCode
            self.errorMessage = errorMessage
            self.createTime = createTime
            self.startTime = startTime
            self.completeTime = completeTime
            self.creator = creator
            self.description = description
            self.rollbackDeploymentId = rollbackDeploymentId
            self.rollbackTriggeringDeploymentId = rollbackTriggeringDeploymentId
            self.rollbackMessage = rollbackMessage
            self.appSpecContent = appSpecContent
            self.appSpecSHA256 = appSpecSHA256
        }

        /// `Succeeded`, `Failed` or `Stopped`: CodeDeploy will not change it any more.
        public var isTerminal: Bool {
            status == "Succeeded" || status == "Failed" || status == "Stopped"
        }

        /// True for the deployment CodeDeploy created to roll another one back.
        public var isRollback: Bool {
            creator == "codeDeployRollback" || rollbackTriggeringDeploymentId != nil
        }
    }

    /// A `LambdaTarget` of `BatchGetDeploymentTargets`.
    public struct LambdaTarget: Sendable, Hashable {
        /// The target id.
        public var targetId: String
        /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `Skipped`, `Unknown` or `Ready`.
        public var status: String?
        /// `lambdaFunctionInfo.targetVersionWeight`: the share of traffic on the target version (0…1).
        public var targetVersionWeight: Double?
        /// `lambdaFunctionInfo.currentVersion`.
        public var currentVersion: String?
        /// `lambdaFunctionInfo.targetVersion`.
        public var targetVersion: String?
        /// `lifecycleEvents`, in CodeDeploy's order.
        public var lifecycleEvents: [LifecycleEvent]

        /// Creates a target.
        public init(
            targetId: String, status: String? = nil, targetVersionWeight: Double? = nil, currentVersion: String? = nil,
            targetVersion: String? = nil, lifecycleEvents: [LifecycleEvent] = []
        ) {
            self.targetId = targetId
            self.status = status
            self.targetVersionWeight = targetVersionWeight
            self.currentVersion = currentVersion
            self.targetVersion = targetVersion
            self.lifecycleEvents = lifecycleEvents
        }
    }

    /// A target's `LifecycleEvent` (`BeforeAllowTraffic`, `AllowTraffic`, `AfterAllowTraffic`, ...).
    public struct LifecycleEvent: Sendable, Hashable {
        /// `lifecycleEventName`.
        public var name: String
        /// `Pending`, `InProgress`, `Succeeded`, `Failed`, `Skipped` or `Unknown`.
        public var status: String?
        /// When it started.
        public var startTime: Double?
        /// When it ended.
        public var endTime: Double?
        /// `diagnostics.message`.
        public var message: String?

        /// Creates an event.
        public init(name: String, status: String? = nil, startTime: Double? = nil, endTime: Double? = nil, message: String? = nil) {
            self.name = name
            self.status = status
            self.startTime = startTime
            self.endTime = endTime
            self.message = message
        }
    }
}
