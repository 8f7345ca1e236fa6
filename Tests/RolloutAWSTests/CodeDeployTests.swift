import CurlHTTP
import RolloutAWS
import RolloutCore
import Testing

// The codedeploy rollout engine: the AppSpec and config choice (pure), create/get/list against
// moto, and everything moto cannot do (state transitions, StopDeployment,
// PutLifecycleEventHookExecutionStatus, deployment configs and targets) against the scripted
// fake tests/fixtures/codedeploy_fake.py.

private let record = CodeDeployRecord(
    function: "orders", alias: "live", fromVersion: "7", toVersion: "8", strategy: .allAtOnce, startedAt: 1_700_000_000
)

private func request(
    _ strategy: Strategy = .allAtOnce, hooks: RolloutHooks? = nil, alarms: [String]? = nil, onConflict: ConflictPolicy? = nil
) -> RolloutRequest {
    RolloutRequest(
        function: "orders", alias: "live", targetVersion: "8", strategy: strategy, hooks: hooks, alarms: alarms,
        onConflict: onConflict, engine: .codedeploy
    )
}

/// The error `body` throws, or nil when it returns.
private func rolloutError(_ body: () async throws(RolloutError) -> Void) async -> RolloutError? {
    do {
        try await body()
        return nil
    } catch {
        return error
    }
}

@Suite("CodeDeploy AppSpec (pure)")
struct CodeDeployAppSpecTests {
    @Test("the documented Lambda shape: version 0.0, one resource with string properties, hooks in lifecycle order")
    func shape() throws {
        let spec = try AppSpec(
            function: "orders", alias: "live", currentVersion: "7", targetVersion: "8",
            hooks: RolloutHooks(beforeTraffic: "orders-pre", afterTraffic: "orders-post")
        )
        let parsed = try JSONParser.parse(spec.content)
        #expect(parsed.objectValue?.keys == ["version", "Resources", "Hooks"])
        #expect(parsed["version"] == "0.0")
        let resources = try #require(parsed["Resources"]?.arrayValue)
        try #require(resources.count == 1)
        let resource = try #require(resources[0].objectValue)
        #expect(resource.keys == [AppSpec.defaultLogicalName])
        let function = try #require(resource[AppSpec.defaultLogicalName])
        #expect(function["Type"] == "AWS::Lambda::Function")
        #expect(
            function["Properties"]
                == ["Name": "orders", "Alias": "live", "CurrentVersion": .string("7"), "TargetVersion": .string("8")]
        )
        #expect(parsed["Hooks"] == [["BeforeAllowTraffic": "orders-pre"], ["AfterAllowTraffic": "orders-post"]])
    }

    @Test("content is compact JSON and sha256 is its lowercase hex SHA-256 (digest from Python's hashlib)")
    func digest() throws {
        let spec = try AppSpec(
            function: "orders", alias: "live", currentVersion: "7", targetVersion: "8",
            hooks: RolloutHooks(beforeTraffic: "orders-pre", afterTraffic: "orders-post")
        )
        #expect(
            spec.content
                == #"{"version":"0.0","Resources":[{"rolloutdTarget":{"Type":"AWS::Lambda::Function","Properties":{"Name":"orders","Alias":"live","CurrentVersion":"7","TargetVersion":"8"}}}],"Hooks":[{"BeforeAllowTraffic":"orders-pre"},{"AfterAllowTraffic":"orders-post"}]}"#
        )
        #expect(spec.sha256 == "f68e1c3a8db05cf89c6373c4845e44015534591696413818df886be876d316a4")
    }

    @Test("one Hooks entry per configured hook; no hooks, no Hooks; a custom logical name")
    func hooks() throws {
        let after = try JSONParser.parse(
            AppSpec(function: "f", alias: "a", currentVersion: "1", targetVersion: "2", hooks: RolloutHooks(afterTraffic: "post")).content
        )
        #expect(after["Hooks"] == [["AfterAllowTraffic": "post"]])
        let none = try JSONParser.parse(
            AppSpec(
                function: "f", alias: "a", currentVersion: "1", targetVersion: "2", hooks: RolloutHooks(beforeTraffic: ""),
                logicalName: "MyFunction"
            ).content
        )
        #expect(none["Hooks"] == nil)
        #expect(none["Resources"]?.arrayValue?.first?.objectValue?.keys == ["MyFunction"])
    }

    @Test(
        "refused: $LATEST on either side or equal versions (PreconditionFailed), empty fields (InvalidParams)",
        arguments: [
            ("$LATEST", "8", ErrorCode.preconditionFailed, "$LATEST"),
            ("7", "$LATEST", .preconditionFailed, "$LATEST"),
            ("8", "8", .preconditionFailed, "both 8"),
            ("", "8", .invalidParams, "fromVersion"),
            ("7", "", .invalidParams, "targetVersion"),
        ]
    )
    func refusals(current: String, target: String, code: ErrorCode, mention: String) {
        let error = #expect(throws: RolloutError.self) {
            try AppSpec(function: "f", alias: "live", currentVersion: current, targetVersion: target)
        }
        #expect(error?.code == code)
        #expect(error?.message.contains(mention) == true)
    }
}

@Suite("CodeDeploy config choice (pure)")
struct CodeDeployConfigChoiceTests {
    @Test(
        "predefined configs when the strategy matches one exactly",
        arguments: [
            (Strategy.allAtOnce, "CodeDeployDefault.LambdaAllAtOnce"),
            (.canary(percent: 10, intervalSeconds: 300), "CodeDeployDefault.LambdaCanary10Percent5Minutes"),
            (.canary(percent: 10, intervalSeconds: 600), "CodeDeployDefault.LambdaCanary10Percent10Minutes"),
            (.canary(percent: 10, intervalSeconds: 900), "CodeDeployDefault.LambdaCanary10Percent15Minutes"),
            (.canary(percent: 10, intervalSeconds: 1800), "CodeDeployDefault.LambdaCanary10Percent30Minutes"),
            (.linear(percent: 10, intervalSeconds: 60), "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"),
            (.linear(percent: 10, intervalSeconds: 120), "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes"),
            (.linear(percent: 10, intervalSeconds: 180), "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes"),
            (.linear(percent: 10, intervalSeconds: 600), "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes"),
            // 100% in one step is the allAtOnce plan, whatever the interval.
            (.canary(percent: 100, intervalSeconds: 45), "CodeDeployDefault.LambdaAllAtOnce"),
            (.linear(percent: 100, intervalSeconds: 60), "CodeDeployDefault.LambdaAllAtOnce"),
        ]
    )
    func predefined(strategy: Strategy, name: String) throws {
        #expect(try DeploymentConfigChoice.choose(for: strategy) == .predefined(name: name))
    }

    @Test(
        "custom configs: deterministic rolloutd- names, whole percent and minutes",
        arguments: [
            (Strategy.canary(percent: 25, intervalSeconds: 120), "rolloutd-canary-25pct-2min", TrafficRouting.timeBasedCanary(percent: 25, intervalMinutes: 2)),
            (.canary(percent: 10, intervalSeconds: 240), "rolloutd-canary-10pct-4min", .timeBasedCanary(percent: 10, intervalMinutes: 4)),
            (.canary(percent: 5, intervalSeconds: 300), "rolloutd-canary-5pct-5min", .timeBasedCanary(percent: 5, intervalMinutes: 5)),
            (.linear(percent: 20, intervalSeconds: 180), "rolloutd-linear-20pct-3min", .timeBasedLinear(percent: 20, intervalMinutes: 3)),
            (.linear(percent: 10, intervalSeconds: 300), "rolloutd-linear-10pct-5min", .timeBasedLinear(percent: 10, intervalMinutes: 5)),
            (.canary(percent: 99, intervalSeconds: 172_800), "rolloutd-canary-99pct-2880min", .timeBasedCanary(percent: 99, intervalMinutes: 2880)),
        ]
    )
    func custom(strategy: Strategy, name: String, routing: TrafficRouting) throws {
        let choice = try DeploymentConfigChoice.choose(for: strategy)
        #expect(choice == .custom(name: name, trafficRouting: routing))
        #expect(!choice.name.hasPrefix(DeploymentConfigChoice.predefinedPrefix))
        #expect(TrafficRouting(json: routing.json) == routing)
    }

    @Test(
        "refused with InvalidParams naming the field",
        arguments: [
            (Strategy.canary(percent: 10, intervalSeconds: 90), "strategy.intervalSeconds"),
            (.linear(percent: 10, intervalSeconds: 30), "strategy.intervalSeconds"),
            (.canary(percent: 12.5, intervalSeconds: 60), "strategy.percent"),
            (.canary(percent: 0.5, intervalSeconds: 60), "strategy.percent"),
            (.canary(percent: 0, intervalSeconds: 60), "strategy.percent"),
            (.canary(percent: 10, intervalSeconds: 0), "strategy.intervalSeconds"),
            // Over the 2880 minutes CodeDeploy allows between the first and the last shift.
            (.canary(percent: 10, intervalSeconds: 2881 * 60), "strategy.intervalSeconds"),
            (.linear(percent: 1, intervalSeconds: 30 * 60), "strategy.intervalSeconds"),
        ]
    )
    func refused(strategy: Strategy, field: String) {
        let error = #expect(throws: RolloutError.self) {
            try DeploymentConfigChoice.choose(for: strategy)
        }
        #expect(error?.code == .invalidParams)
        #expect(error?.message.contains(field) == true)
    }

    @Test("the traffic routing wire shapes")
    func wire() {
        #expect(TrafficRouting.allAtOnce.json == ["type": "AllAtOnce"])
        #expect(
            TrafficRouting.timeBasedCanary(percent: 25, intervalMinutes: 2).json
                == ["type": "TimeBasedCanary", "timeBasedCanary": ["canaryPercentage": 25, "canaryInterval": 2]]
        )
        #expect(
            TrafficRouting.timeBasedLinear(percent: 20, intervalMinutes: 3).json
                == ["type": "TimeBasedLinear", "timeBasedLinear": ["linearPercentage": 20, "linearInterval": 3]]
        )
        #expect(TrafficRouting(json: ["type": "TimeBasedCanary"]) == nil)
    }
}

@Suite("CodeDeploy engine against moto")
struct CodeDeployMotoTests {
    /// A Lambda application and a blue/green deployment group seeded with boto3.
    private func seed(_ moto: AWSTestMoto, application: String, group: String) async throws {
        _ = try await codeDeployBoto3(
            endpoint: moto.url,
            [
                ["op": "createApplication", "name": .string(application)],
                ["op": "createDeploymentGroup", "application": .string(application), "name": .string(group)],
            ]
        )
    }

    @Test("create, get and list end to end; boto3 reads back the AppSpec moto stored")
    func createGetList() async throws {
        let moto = try await AWSTestMoto.get()
        try await seed(moto, application: "cd-moto-app", group: "cd-moto-dg")
        let engine = CodeDeployRollouts(
            client: try codeDeployTestClient(url: moto.url), application: "cd-moto-app", deploymentGroup: "cd-moto-dg"
        )
        #expect(try await engine.activeDeploymentIds() == [])

        let hooks = RolloutHooks(beforeTraffic: "orders-pre", afterTraffic: "orders-post")
        let id = try await engine.start(
            request(.canary(percent: 10, intervalSeconds: 300), hooks: hooks), fromVersion: "7", toVersion: "8"
        )
        #expect(!id.isEmpty)
        // moto keeps every deployment in Created, so it stays active.
        #expect(try await engine.activeDeploymentIds() == [id])

        let stored = try await #require(try codeDeployBoto3(endpoint: moto.url, [["op": "getDeployment", "id": .string(id)]]).first)
        #expect(stored["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes")
        #expect(stored["revision"]?["revisionType"] == "AppSpecContent")
        let expected = try AppSpec(function: "orders", alias: "live", currentVersion: "7", targetVersion: "8", hooks: hooks)
        let content = try #require(stored["revision"]?["appSpecContent"]?["content"]?.stringValue)
        #expect(try JSONParser.parse(content) == JSONParser.parse(expected.content))
        #expect(stored["revision"]?["appSpecContent"]?["sha256"]?.stringValue == expected.sha256)
        #expect(stored["description"]?.stringValue?.contains("orders:live 7 -> 8") == true)

        let deployment = try await engine.deployment(id, record: record)
        #expect(deployment.deploymentId == id && deployment.engine == .codedeploy)
        #expect(deployment.status == .created && deployment.weight == 0 && !deployment.rolledBack)
        #expect(deployment.completedAt == nil && deployment.error == nil)
        // moto sends createTime as an ISO 8601 string (AWS: epoch seconds); it is this deployment's, not the record's.
        let startedAt = try #require(RFC3339.parse(deployment.startedAt))
        #expect(startedAt > record.startedAt)
        #expect(deployment.events.map(\.type) == ["Created"])

        let conflict = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(), fromVersion: "7", toVersion: "8")
        }
        #expect(conflict?.code == .conflict)
        #expect(conflict?.data["activeDeploymentId"] == .string(id))
    }

    @Test("an unknown deployment is NotFound (DeploymentDoesNotExistException)")
    func notFound() async throws {
        let moto = try await AWSTestMoto.get()
        let engine = CodeDeployRollouts(client: try codeDeployTestClient(url: moto.url), application: "cd-moto-app", deploymentGroup: "x")
        let error = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.deployment("d-DOESNOTEXIST", record: record)
        }
        #expect(error?.code == .notFound)
        #expect(error?.upstream("code") == "DeploymentDoesNotExistException")
    }

    @Test("moto 5.2 does not implement StopDeployment, PutLifecycleEventHookExecutionStatus or GetDeploymentConfig (HTTP 500), hence the scripted fake")
    func motoGaps() async throws {
        let moto = try await AWSTestMoto.get()
        let engine = CodeDeployRollouts(
            client: try codeDeployTestClient(url: moto.url, maxAttempts: 1), application: "cd-moto-app", deploymentGroup: "cd-moto-dg"
        )
        let stop = await rolloutError { () async throws(RolloutError) in try await engine.stop("d-ANY") }
        let report = await rolloutError { () async throws(RolloutError) in
            try await engine.reportHook("d-ANY", executionId: "exec", status: "Succeeded")
        }
        let config = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.codeDeploy.getDeploymentConfig("CodeDeployDefault.LambdaAllAtOnce")
        }
        for error in [stop, report, config] {
            #expect(error?.code == .unavailable)
            #expect(error?.upstream("httpStatus") == 500)
        }
    }
}

@Suite("CodeDeploy engine against the scripted fake")
struct CodeDeployFakeTests {
    private func makeEngine(
        _ fake: CodeDeployFake, group: String = "dg", sleeps: CodeDeployPollSleeps = CodeDeployPollSleeps(),
        sleeper: AWSTestSleepRecorder = AWSTestSleepRecorder(), rollbackWaitLimit: Duration = .seconds(60)
    ) throws -> CodeDeployRollouts {
        CodeDeployRollouts(
            client: try codeDeployTestClient(url: fake.url, sleeper: sleeper), application: "app", deploymentGroup: group,
            pollInterval: .seconds(1), rollbackWaitLimit: rollbackWaitLimit, sleep: sleeps.sleep
        )
    }

    @Test("status, weight and events through Created → InProgress → Succeeded; the create request")
    func transitions() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.configure(["inProgressWeight": 0.25])
        let engine = try makeEngine(fake)
        let id = try await engine.start(
            request(hooks: RolloutHooks(beforeTraffic: "pre", afterTraffic: "post"), alarms: ["errors"]), fromVersion: "7",
            toVersion: "8"
        )

        let created = try await engine.deployment(id, record: record)
        #expect(created.status == .created && created.weight == 0 && created.completedAt == nil)
        #expect(created.events.map(\.type) == ["Created"])

        let running = try await engine.deployment(id, record: record)
        #expect(running.status == .inProgress && running.weight == 0.25 && running.completedAt == nil)
        #expect(running.events.map(\.type) == ["Created", "Start", "BeforeAllowTraffic", "AllowTraffic"])
        #expect(running.events.dropFirst(2).map(\.detail) == ["Succeeded", "InProgress"])

        let done = try await engine.deployment(id, record: record)
        #expect(done.status == .succeeded && done.weight == 1 && !done.rolledBack && done.error == nil)
        #expect(done.completedAt != nil)
        #expect(
            done.events.map(\.type)
                == ["Created", "Start", "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic", "Succeeded"]
        )
        #expect(done.function == "orders" && done.fromVersion == "7" && done.toVersion == "8" && done.engine == .codedeploy)

        let create = try #require(try await fake.bodies("CreateDeployment").first)
        #expect(create["applicationName"] == "app" && create["deploymentGroupName"] == "dg")
        #expect(create["deploymentConfigName"] == "CodeDeployDefault.LambdaAllAtOnce")
        #expect(
            create["autoRollbackConfiguration"]
                == ["enabled": true, "events": ["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM", "DEPLOYMENT_STOP_ON_REQUEST"]]
        )
        #expect(create["overrideAlarmConfiguration"]?["alarms"] == [["name": "errors"]])
        #expect(create["overrideAlarmConfiguration"]?["enabled"] == true)
        // A predefined config is never looked up or created.
        #expect(try await fake.bodies("GetDeploymentConfig").isEmpty)
        #expect(try await fake.bodies("CreateDeploymentConfig").isEmpty)
    }

    @Test("Queued → Created; Baking and Ready → InProgress; failures map errorInformation and rollbackInfo")
    func statusMapping() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.seed(deployments: [
            codeDeployFakeDeployment("d-QUEUED", script: ["Queued"]),
            codeDeployFakeDeployment("d-BAKING", group: "g2", script: ["Baking"]),
            codeDeployFakeDeployment("d-READY", group: "g3", script: ["Ready"]),
            codeDeployFakeDeployment(
                "d-HOOK", group: "g4", script: ["Failed"],
                extra: [
                    "createTime": 1_700_000_000, "startTime": 1_700_000_010, "completeTime": 1_700_000_020,
                    "errorInformation": ["code": "HOOK_EXECUTION_FAILURE", "message": "BeforeAllowTraffic failed"],
                    "rollbackInfo": ["rollbackDeploymentId": "d-ROLLBACK", "rollbackMessage": "rolled back"],
                ]
            ),
            codeDeployFakeDeployment(
                "d-ROLLBACK", group: "g4", script: ["Succeeded"],
                extra: ["creator": "codeDeployRollback", "completeTime": 1_700_000_030]
            ),
            codeDeployFakeDeployment(
                "d-LAMBDA", group: "g5", script: ["Failed"],
                extra: ["errorInformation": ["code": "INVALID_LAMBDA_FUNCTION", "message": "no such function"]]
            ),
        ])
        let engine = try makeEngine(fake)
        #expect(try await engine.deployment("d-QUEUED", record: record).status == .created)
        #expect(try await engine.deployment("d-BAKING", record: record).status == .inProgress)
        #expect(try await engine.deployment("d-READY", record: record).status == .inProgress)

        let hook = try await engine.deployment("d-HOOK", record: record)
        #expect(hook.status == .failed && hook.rolledBack && hook.weight == 0)
        #expect(hook.error == DeploymentError(code: .hookExecutionFailure, message: "BeforeAllowTraffic failed"))
        #expect(hook.completedAt == "2023-11-14T22:13:40.000Z")
        #expect(hook.events.suffix(3).map(\.type) == ["Failed", "RollbackStarted", "RollbackApplied"])
        #expect(hook.events.last?.at == "2023-11-14T22:13:50.000Z")

        let lambda = try await engine.deployment("d-LAMBDA", record: record)
        #expect(lambda.status == .failed && !lambda.rolledBack)
        #expect(lambda.error?.code == .invalidLambdaConfiguration)
        #expect(lambda.error?.message == "INVALID_LAMBDA_FUNCTION: no such function")
    }

    @Test("a custom config is created once with the Lambda traffic routing, then reused")
    func customConfig() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        let strategy = Strategy.canary(percent: 25, intervalSeconds: 120)
        _ = try await makeEngine(fake, group: "dg1").start(request(strategy), fromVersion: "7", toVersion: "8")
        _ = try await makeEngine(fake, group: "dg2").start(request(strategy), fromVersion: "7", toVersion: "8")

        let created = try await fake.bodies("CreateDeploymentConfig")
        #expect(
            created == [
                [
                    "deploymentConfigName": "rolloutd-canary-25pct-2min", "computePlatform": "Lambda",
                    "trafficRoutingConfig": ["type": "TimeBasedCanary", "timeBasedCanary": ["canaryPercentage": 25, "canaryInterval": 2]],
                ]
            ]
        )
        #expect(try await fake.bodies("GetDeploymentConfig").count == 2)
        let names = try await fake.bodies("CreateDeployment").map { $0["deploymentConfigName"] }
        #expect(names == ["rolloutd-canary-25pct-2min", "rolloutd-canary-25pct-2min"])
    }

    @Test("a custom config that exists with another routing is PreconditionFailed, before CreateDeployment")
    func customConfigMismatch() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.seed(configs: [
            "rolloutd-canary-25pct-2min": ["type": "TimeBasedLinear", "timeBasedLinear": ["linearPercentage": 25, "linearInterval": 2]]
        ])
        let engine = try makeEngine(fake)
        let error = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(.canary(percent: 25, intervalSeconds: 120)), fromVersion: "7", toVersion: "8")
        }
        #expect(error?.code == .preconditionFailed)
        #expect(error?.message.contains("rolloutd-canary-25pct-2min") == true)
        #expect(try await fake.bodies("CreateDeployment").isEmpty)
    }

    @Test("invalid AppSpec or strategy fails before any call")
    func validatedFirst() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        let engine = try makeEngine(fake)
        let same = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(), fromVersion: "8", toVersion: "8")
        }
        let minutes = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(.canary(percent: 10, intervalSeconds: 90)), fromVersion: "7", toVersion: "8")
        }
        let alarms = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(alarms: (1...11).map { "alarm-\($0)" }), fromVersion: "7", toVersion: "8")
        }
        #expect(same?.code == .preconditionFailed)
        #expect(minutes?.code == .invalidParams && minutes?.message.contains("strategy.intervalSeconds") == true)
        #expect(alarms?.code == .invalidParams && alarms?.message.contains("alarms") == true)
        #expect(try await fake.calls().isEmpty)
    }

    @Test("activeDeploymentIds asks for the five active statuses and follows every page")
    func paging() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.configure(["pageSize": 2])
        try await fake.seed(deployments: [
            codeDeployFakeDeployment("d-A", script: ["InProgress"]),
            codeDeployFakeDeployment("d-B", script: ["Queued"]),
            codeDeployFakeDeployment("d-DONE", script: ["Succeeded"]),
            codeDeployFakeDeployment("d-C", script: ["Baking"]),
            codeDeployFakeDeployment("d-OTHER", group: "other", script: ["InProgress"]),
        ])
        let ids = try await makeEngine(fake).activeDeploymentIds()
        #expect(Set(ids) == ["d-A", "d-B", "d-C"] && ids.count == 3)
        let lists = try await fake.bodies("ListDeployments")
        try #require(lists.count == 2)
        #expect(lists[0]["includeOnlyStatuses"] == ["Created", "Queued", "InProgress", "Ready", "Baking"])
        #expect(lists[0]["nextToken"] == nil && lists[1]["nextToken"] == "2")
    }

    @Test("onConflict fail: Conflict with data.activeDeploymentId, nothing stopped or created")
    func conflictFail() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.seed(deployments: [codeDeployFakeDeployment("d-ACTIVE", script: ["InProgress"])])
        let engine = try makeEngine(fake)
        let error = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(), fromVersion: "7", toVersion: "8")
        }
        #expect(error?.code == .conflict)
        #expect(error?.data["activeDeploymentId"] == "d-ACTIVE")
        #expect(try await fake.bodies("StopDeployment").isEmpty)
        #expect(try await fake.bodies("CreateDeployment").isEmpty)
    }

    @Test("onConflict rollback: stops the active one with a rollback, waits for it and its rollback deployment, then creates")
    func conflictRollback() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        try await fake.seed(deployments: [codeDeployFakeDeployment("d-ACTIVE", script: ["InProgress"])])
        let sleeps = CodeDeployPollSleeps()
        let engine = try makeEngine(fake, sleeps: sleeps)
        let id = try await engine.start(request(onConflict: .rollback), fromVersion: "7", toVersion: "8")
        #expect(id != "d-ACTIVE")

        let calls = try await fake.calls()
        let stops = calls.filter { $0["op"] == "StopDeployment" }.map { $0["body"] }
        #expect(stops == [["deploymentId": "d-ACTIVE", "autoRollbackEnabled": true]])
        let createIndex = try #require(calls.firstIndex { $0["op"] == "CreateDeployment" })
        let before = calls[..<createIndex]
        func sawStatus(_ deploymentId: JSONValue, _ status: JSONValue) -> Bool {
            before.contains { $0["op"] == "GetDeployment" && $0["body"]?["deploymentId"] == deploymentId && $0["status"] == status }
        }
        #expect(sawStatus("d-ACTIVE", "Stopped"))
        // The rollback deployment CodeDeploy started is waited for, not stopped.
        let stopped = try await engine.codeDeploy.getDeployment("d-ACTIVE")
        let rollbackId = try #require(stopped.rollbackDeploymentId)
        #expect(sawStatus(.string(rollbackId), "Succeeded"))
        #expect(sleeps.count >= 1)

        let described = try await engine.deployment("d-ACTIVE", record: record)
        #expect(described.status == .stopped && described.rolledBack && described.weight == 0)
        #expect(described.error?.code == .manualStop)
        #expect(described.events.contains { $0.type == "RollbackApplied" })
    }

    @Test("onConflict rollback gives up with DeadlineExceeded when the active deployment never ends")
    func conflictRollbackDeadline() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        // A rollback deployment is never stopped, only waited for; this one never finishes.
        try await fake.seed(deployments: [
            codeDeployFakeDeployment("d-STUCK", script: ["InProgress"], extra: ["creator": "codeDeployRollback"])
        ])
        let sleeps = CodeDeployPollSleeps()
        let engine = try makeEngine(fake, sleeps: sleeps, rollbackWaitLimit: .seconds(3))
        let error = await rolloutError { () async throws(RolloutError) in
            _ = try await engine.start(request(onConflict: .rollback), fromVersion: "7", toVersion: "8")
        }
        #expect(error?.code == .deadlineExceeded)
        #expect(error?.data["activeDeploymentId"] == "d-STUCK")
        #expect(sleeps.count == 3)
        #expect(try await fake.bodies("StopDeployment").isEmpty)
        #expect(try await fake.bodies("CreateDeployment").isEmpty)
    }

    @Test("stop sends autoRollbackEnabled; a completed deployment is PreconditionFailed, an unknown one NotFound")
    func stop() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        let engine = try makeEngine(fake)
        let id = try await engine.start(request(), fromVersion: "7", toVersion: "8")
        try await engine.stop(id)
        #expect(try await fake.bodies("StopDeployment") == [["deploymentId": .string(id), "autoRollbackEnabled": true]])
        #expect(try await engine.deployment(id, record: record).status == .inProgress)
        let stopped = try await engine.deployment(id, record: record)
        #expect(stopped.status == .stopped && stopped.error?.code == .manualStop && stopped.completedAt != nil)

        let again = await rolloutError { () async throws(RolloutError) in try await engine.stop(id) }
        #expect(again?.code == .preconditionFailed)
        #expect(again?.upstream("code") == "DeploymentAlreadyCompletedException")
        let missing = await rolloutError { () async throws(RolloutError) in try await engine.stop("d-MISSING") }
        #expect(missing?.code == .notFound)
    }

    @Test("reportHook sends PutLifecycleEventHookExecutionStatus; a second report is PreconditionFailed; bad status is refused locally")
    func reportHook() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        let engine = try makeEngine(fake)
        let id = try await engine.start(request(hooks: RolloutHooks(beforeTraffic: "pre")), fromVersion: "7", toVersion: "8")
        try await engine.reportHook(id, executionId: "exec-1", status: "Failed")
        #expect(
            try await fake.bodies("PutLifecycleEventHookExecutionStatus")
                == [["deploymentId": .string(id), "lifecycleEventHookExecutionId": "exec-1", "status": "Failed"]]
        )
        let again = await rolloutError { () async throws(RolloutError) in
            try await engine.reportHook(id, executionId: "exec-1", status: "Succeeded")
        }
        #expect(again?.code == .preconditionFailed)
        #expect(again?.upstream("code") == "LifecycleEventAlreadyCompletedException")

        let before = try await fake.calls().count
        let bad = await rolloutError { () async throws(RolloutError) in
            try await engine.reportHook(id, executionId: "exec-2", status: "Skipped")
        }
        #expect(bad?.code == .invalidParams && bad?.message.contains("status") == true)
        #expect(try await fake.calls().count == before)
    }

    @Test("ThrottlingException is retried, then Throttled")
    func throttling() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        let sleeper = AWSTestSleepRecorder()
        let engine = try makeEngine(fake, sleeper: sleeper)
        try await fake.configure(["throttleNext": 1])
        #expect(try await engine.activeDeploymentIds() == [])
        #expect(sleeper.sleeps.count == 1)
        #expect(try await fake.bodies("ListDeployments").count == 2)

        try await fake.configure(["throttleNext": 10])
        let error = await rolloutError { () async throws(RolloutError) in _ = try await engine.activeDeploymentIds() }
        #expect(error?.code == .throttled)
        #expect(error?.upstream("code") == "ThrottlingException")
    }

    @Test("DeploymentLimitExceededException from CreateDeployment is Conflict, with CodeDeploy's message")
    func createLimit() async throws {
        let fake = try await CodeDeployFake()
        defer { fake.stop() }
        // Straight through the client, past the engine's ListDeployments check: the fake refuses
        // a second create while the first is active, as CodeDeploy does.
        let first = try await makeEngine(fake).start(request(), fromVersion: "7", toVersion: "8")
        let client = try codeDeployTestClient(url: fake.url)
        let error = await rolloutError { () async throws(RolloutError) in
            _ = try await CodeDeployClient(client: client).createDeployment(
                applicationName: "app", deploymentGroupName: "dg", deploymentConfigName: "CodeDeployDefault.LambdaAllAtOnce",
                appSpec: try AppSpec(function: "orders", alias: "live", currentVersion: "7", targetVersion: "8"), description: nil
            )
        }
        #expect(error?.code == .conflict)
        #expect(error?.upstream("code") == "DeploymentLimitExceededException")
        #expect(error?.message.contains(first) == true)
    }
}
