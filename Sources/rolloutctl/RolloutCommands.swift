import ArgumentParser
import RolloutCore

/// `rolloutctl rollout plan|start|status|wait|stop|promote|pause|resume|list` → `rollout.*`.
struct RolloutCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rollout",
        abstract: "Shift a Lambda alias to a new version and follow the deployment (rollout.*).",
        discussion: "The local provider has no rollouts: these commands fail with Unsupported there.",
        subcommands: [Plan.self, Start.self, Status.self, Wait.self, Stop.self, Promote.self, Pause.self, Resume.self, List.self]
    )
}

extension RolloutCommand {
    /// How traffic moves (`strategy.type`).
    enum StrategyType: String, ExpressibleByArgument, CaseIterable {
        case allAtOnce
        case canary
        case linear
    }

    /// What to do about another active deployment on the same alias.
    enum OnConflict: String, ExpressibleByArgument, CaseIterable {
        case fail
        case rollback
    }

    /// Who runs the deployment.
    enum Engine: String, ExpressibleByArgument, CaseIterable {
        case native
        case codedeploy
    }

    /// The states a deployment can be in (`rollout list --status`).
    enum DeploymentStatus: String, ExpressibleByArgument, CaseIterable {
        case created = "Created"
        case inProgress = "InProgress"
        case succeeded = "Succeeded"
        case failed = "Failed"
        case stopped = "Stopped"
    }

    /// The params of `rollout.plan` and `rollout.start`.
    struct DeploymentOptions: ParsableArguments {
        @Option(help: "The Lambda function (name or ARN).")
        var function: String

        @Option(help: "The alias to move.")
        var alias: String

        @Option(help: ArgumentHelp("The published version to move the alias to.", valueName: "version"))
        var targetVersion: String?

        @Flag(help: "Publish $LATEST as a new version and target it.")
        var publish = false

        @Option(help: "How traffic moves.")
        var strategy: StrategyType

        @Option(help: "canary: the share of traffic for the first step; linear: the share added per step (0–100].")
        var percent: Double?

        @Option(help: ArgumentHelp("Seconds between steps (canary, linear).", valueName: "seconds"))
        var interval: Int?

        @Option(help: ArgumentHelp("Lambda function run before the first shift.", valueName: "function"))
        var beforeHook: String?

        @Option(help: ArgumentHelp("Lambda function run after the 100% step.", valueName: "function"))
        var afterHook: String?

        @Option(help: ArgumentHelp("How long each hook may run (default 3600).", valueName: "seconds"))
        var hookTimeout: Int?

        @Option(name: .customLong("alarm"), help: ArgumentHelp("A CloudWatch alarm that stops the rollout; repeat for more.", valueName: "name"))
        var alarms: [String] = []

        @Option(help: ArgumentHelp("SNS topic told about start, success, failure, stop and rollback.", valueName: "arn"))
        var notifyTopic: String?

        @Option(help: "When another deployment is active on the alias: fail (default) or roll it back first.")
        var onConflict: OnConflict?

        @Option(help: "native (default) or codedeploy.")
        var engine: Engine?

        @Option(help: "Make a retry of this start return the first deployment instead of starting another.")
        var idempotencyKey: String?

        func validate() throws {
            guard (targetVersion != nil) != publish else {
                throw ValidationError("give exactly one of --target-version and --publish")
            }
            switch strategy {
            case .canary, .linear:
                guard percent != nil, interval != nil else {
                    throw ValidationError("--strategy \(strategy.rawValue) needs --percent and --interval")
                }
            case .allAtOnce:
                guard percent == nil, interval == nil else {
                    throw ValidationError("--strategy allAtOnce takes neither --percent nor --interval")
                }
            }
        }

        /// The params object.
        var params: JSONObject {
            var params: JSONObject = ["function": .string(function), "alias": .string(alias)]
            params["targetVersion"] = targetVersion.map(JSONValue.string)
            if publish { params["publish"] = true }
            var strategy: JSONObject = ["type": .string(self.strategy.rawValue)]
            strategy["percent"] = percent.map { percent in
                percent == percent.rounded() && abs(percent) < 1e15 ? .integer(Int(percent)) : .number(JSONNumber(percent))
            }
            strategy["intervalSeconds"] = interval.map(JSONValue.integer)
            params["strategy"] = .object(strategy)
            var hooks = JSONObject()
            hooks["beforeTraffic"] = beforeHook.map(JSONValue.string)
            hooks["afterTraffic"] = afterHook.map(JSONValue.string)
            hooks["timeoutSeconds"] = hookTimeout.map(JSONValue.integer)
            if !hooks.isEmpty { params["hooks"] = .object(hooks) }
            if !alarms.isEmpty { params["alarms"] = .array(alarms.map(JSONValue.string)) }
            params["notifyTopicArn"] = notifyTopic.map(JSONValue.string)
            params["onConflict"] = onConflict.map { .string($0.rawValue) }
            params["engine"] = engine.map { .string($0.rawValue) }
            params["idempotencyKey"] = idempotencyKey.map(JSONValue.string)
            return params
        }
    }

    /// `rollout plan ...`: the steps and preflight checks, without side effects.
    struct Plan: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the steps and preflight checks of a deployment without starting it (rollout.plan).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions
        @OptionGroup var deployment: DeploymentOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try await session.call("rollout.plan", deployment.params)
            session.console.emit(result) {
                var steps = Table("AT (S)", "WEIGHT").rightAligning(0, 1)
                for step in result["steps"]?.arrayValue ?? [] {
                    steps.append([step["atSeconds"].map(HumanText.scalar) ?? "", step["weight"]?.doubleValue.map(HumanText.percent) ?? ""])
                }
                var checks = Table("CHECK", "DETAIL")
                for check in result["checks"]?.arrayValue ?? [] {
                    let mark = check["ok"]?.boolValue == true ? "✓" : "✗"
                    checks.append([mark + " " + (check["name"]?.stringValue ?? ""), check["detail"]?.stringValue ?? ""])
                }
                let estimate = HumanText.block([("estimated", (result["estimatedSeconds"].map(HumanText.scalar) ?? "?") + " s")])
                return [steps.rendered(header: session.console.bold), checks.rendered(header: session.console.bold), estimate]
                    .joined(separator: "\n\n")
            }
            return .success
        }
    }

    /// `rollout start ... [--wait [--timeout S]]`.
    struct Start: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a deployment (rollout.start).",
            discussion: "With --wait, follow it as 'rollout wait' does, with the same exit status; --json then prints the final deployment."
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions
        @OptionGroup var deployment: DeploymentOptions

        @Flag(help: "Then wait for the deployment to end (rollout.wait).")
        var wait = false

        @Option(help: ArgumentHelp("With --wait: give up waiting after this many seconds.", valueName: "seconds"))
        var timeout: Int?

        func validate() throws {
            if timeout != nil, !wait { throw ValidationError("--timeout needs --wait") }
        }

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try await session.call("rollout.start", deployment.params)
            guard wait, let deploymentId = result["deploymentId"]?.stringValue else {
                session.console.emit(result) { HumanText.block(result.objectValue ?? [:]) }
                return .success
            }
            if !session.console.json { session.console.print(HumanText.block(result.objectValue ?? [:]) + "\n") }
            return try await RolloutCommand.follow(deploymentId, timeout: timeout, in: session)
        }
    }

    /// `rollout status ID` → `rollout.get`.
    struct Status: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a deployment and its events (rollout.get).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try await session.call("rollout.get", ["deploymentId": .string(deploymentId)])
            session.console.emit(result) { RolloutCommand.render(deployment: result, console: session.console) }
            return .success
        }
    }

    /// `rollout wait ID [--timeout S]`: follows the deployment's events until it ends.
    struct Wait: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Wait for a deployment to end, printing its events (rollout.wait).",
            discussion: """
                On a terminal a status line under the events shows the weight and the next step with a countdown. \
                Exit status: 0 Succeeded, 4 Failed or Stopped, 3 when the wait timed out. With --json the events go to stderr.
                """
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        @Option(help: ArgumentHelp("Give up after this many seconds (default: the plan's length plus hook timeouts plus a margin).", valueName: "seconds"))
        var timeout: Int?

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.follow(deploymentId, timeout: timeout, in: session)
        }
    }

    /// `rollout stop ID [--idempotency-key K]`.
    struct Stop: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a deployment and roll the alias back (rollout.stop).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        @Option(help: "Make a retry of this stop return the first result.")
        var idempotencyKey: String?

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act("rollout.stop", deploymentId, idempotencyKey: idempotencyKey, in: session)
        }
    }

    /// `rollout promote ID [--idempotency-key K]`.
    struct Promote: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Move a deployment to 100% now (rollout.promote).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        @Option(help: "Make a retry of this promote return the first result.")
        var idempotencyKey: String?

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act("rollout.promote", deploymentId, idempotencyKey: idempotencyKey, in: session)
        }
    }

    /// `rollout pause ID`.
    struct Pause: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold a deployment at its current weight (rollout.pause).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act("rollout.pause", deploymentId, in: session)
        }
    }

    /// `rollout resume ID`.
    struct Resume: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Continue a paused deployment (rollout.resume).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act("rollout.resume", deploymentId, in: session)
        }
    }

    /// `rollout list [--function F] [--alias A] [--status S]`.
    struct List: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "List deployments, newest first (rollout.list).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Option(help: "Only deployments of this function.")
        var function: String?

        @Option(help: "Only deployments of this alias.")
        var alias: String?

        @Option(help: "Only deployments in this state.")
        var status: DeploymentStatus?

        func execute(in session: Session) async throws -> ExitStatus {
            var params: JSONObject = [:]
            params["function"] = function.map(JSONValue.string)
            params["alias"] = alias.map(JSONValue.string)
            params["status"] = status.map { .string($0.rawValue) }
            let result = try await session.call("rollout.list", params)
            session.console.emit(result) {
                var table = Table("DEPLOYMENT", "FUNCTION", "ALIAS", "VERSIONS", "STATUS", "WEIGHT", "STARTED").rightAligning(5)
                for deployment in result["deployments"]?.arrayValue ?? [] {
                    table.append([
                        deployment["deploymentId"]?.stringValue ?? "", deployment["function"]?.stringValue ?? "",
                        deployment["alias"]?.stringValue ?? "",
                        "\(deployment["fromVersion"]?.stringValue ?? "?") → \(deployment["toVersion"]?.stringValue ?? "?")",
                        deployment["status"]?.stringValue ?? "", deployment["weight"]?.doubleValue.map(HumanText.percent) ?? "",
                        deployment["startedAt"]?.stringValue ?? "",
                    ])
                }
                return table.rendered(header: session.console.bold)
            }
            return .success
        }
    }
}

extension RolloutCommand {
    /// `rollout.wait`: prints the events as they come (with a live status line on a terminal,
    /// on stderr with `--json`), then the final deployment. 0 when it Succeeded, 4 when it
    /// failed or stopped, 3 when the wait timed out (the deployment as it was is printed too).
    static func follow(_ deploymentId: String, timeout: Int?, in session: Session) async throws -> ExitStatus {
        var params: JSONObject = ["deploymentId": .string(deploymentId)]
        params["timeoutSeconds"] = timeout.map(JSONValue.integer)
        let console = session.console
        let live = RolloutLiveView.start(console)
        let result: JSONValue
        do {
            result = try await session.call("rollout.wait", params) { progress in
                if let live {
                    live.show(progress)
                } else if console.json {
                    console.note(eventLine(progress))
                } else {
                    console.print(eventLine(progress))
                }
            }
            live?.finish()
        } catch let error as RolloutError where error.code == .deadlineExceeded && !console.json {
            live?.finish()
            guard let deployment = error.data["deployment"] else { throw error }
            console.print(render(deployment: deployment, console: console))
            return console.report(RolloutError(error.code, error.message), details: [])
        } catch {
            live?.finish()
            throw error
        }
        console.emit(result) { render(deployment: result, console: console) }
        let status = result["status"]?.stringValue ?? "?"
        guard status == DeploymentStatus.succeeded.rawValue else {
            var message = "rolloutctl: deployment \(deploymentId) ended \(status)"
            if let error = result["error"] {
                message += ": \(error["code"]?.stringValue ?? "?"): \(error["message"]?.stringValue ?? "")"
            }
            console.note(message)
            return .fatal
        }
        return .success
    }

    /// Calls a method that takes `{deploymentId, idempotencyKey?}` and prints its result.
    static func act(_ method: String, _ deploymentId: String, idempotencyKey: String? = nil, in session: Session) async throws -> ExitStatus {
        var params: JSONObject = ["deploymentId": .string(deploymentId)]
        params["idempotencyKey"] = idempotencyKey.map(JSONValue.string)
        let result = try await session.call(method, params)
        session.console.emit(result) { HumanText.block(result.objectValue ?? [:]) }
        return .success
    }

    /// A `Deployment` as a key/value block followed by its events.
    static func render(deployment: JSONValue, console: Console) -> String {
        let block = HumanText.block(deployment.objectValue ?? [:], omitting: ["events"])
        let events = deployment["events"]?.arrayValue ?? []
        guard !events.isEmpty else { return block }
        var table = Table("AT", "EVENT", "DETAIL")
        for event in events {
            table.append([event["at"]?.stringValue ?? "", event["type"]?.stringValue ?? "", event["detail"]?.stringValue ?? ""])
        }
        return block + "\n\n" + table.rendered(header: console.bold)
    }

    /// One `rollout.wait` progress notification (`{event, status, weight}`) as a line.
    static func eventLine(_ progress: JSONObject) -> String {
        let event = progress["event"]
        var parts = [
            event?["at"]?.stringValue ?? "", event?["type"]?.stringValue ?? "",
            progress["status"]?.stringValue ?? "", progress["weight"]?.doubleValue.map(HumanText.percent) ?? "",
        ]
        if let detail = event?["detail"]?.stringValue, !detail.isEmpty { parts.append(detail) }
        return HumanText.singleLine(parts.joined(separator: "  "))
    }
}
