import ArgumentParser
import Foundation
import RolloutClient
import RolloutCore
import RolloutRPC
import Synchronization
import UnixSignals

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

        /// The params of `rollout.plan` and `rollout.start`.
        var request: RolloutRequest {
            let strategy: Strategy = switch self.strategy {
            case .allAtOnce: .allAtOnce
            case .canary: .canary(percent: percent ?? 0, intervalSeconds: interval ?? 0)
            case .linear: .linear(percent: percent ?? 0, intervalSeconds: interval ?? 0)
            }
            let hooks = RolloutHooks(beforeTraffic: beforeHook, afterTraffic: afterHook, timeoutSeconds: hookTimeout)
            return RolloutRequest(
                function: function, alias: alias, targetVersion: targetVersion, publish: publish ? true : nil,
                strategy: strategy, hooks: hooks == RolloutHooks() ? nil : hooks, alarms: alarms.isEmpty ? nil : alarms,
                notifyTopicArn: notifyTopic, onConflict: onConflict.flatMap { ConflictPolicy(rawValue: $0.rawValue) },
                engine: engine.flatMap { RolloutEngineKind(rawValue: $0.rawValue) })
        }
    }

    /// `rollout plan ...`: the steps and preflight checks, without side effects.
    struct Plan: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the steps and preflight checks of a deployment without starting it (rollout.plan).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions
        @OptionGroup var deployment: DeploymentOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(
                encoding: await session.call(RolloutRPC.RolloutPlan.self, deployment.request, idempotencyKey: deployment.idempotencyKey))
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
            // A Ctrl-C from here on ends the wait with the follow-or-stop message, not the process.
            let interrupts: UnixSignalsSequence? = if wait { await UnixSignalsSequence(trapping: .sigint) } else { nil }
            let started = try await session.call(RolloutStart.self, deployment.request, idempotencyKey: deployment.idempotencyKey)
            let result = try JSONValue(encoding: started)
            guard wait else {
                session.console.emit(result) { HumanText.block(result.objectValue ?? [:]) }
                return .success
            }
            if !session.console.json { session.console.print(HumanText.block(result.objectValue ?? [:]) + "\n") }
            return try await RolloutCommand.follow(started.deploymentId, timeout: timeout, interrupts: interrupts, in: session)
        }
    }

    /// `rollout status ID` → `rollout.get`.
    struct Status: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a deployment and its events (rollout.get).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(encoding: await session.call(RolloutGet.self, .init(deploymentId: deploymentId)))
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
            try await RolloutCommand.act(RolloutStop.self, deploymentId, idempotencyKey: idempotencyKey, in: session)
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
            try await RolloutCommand.act(RolloutPromote.self, deploymentId, idempotencyKey: idempotencyKey, in: session)
        }
    }

    /// `rollout pause ID`.
    struct Pause: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Hold a deployment at its current weight (rollout.pause).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act(RolloutPause.self, deploymentId, in: session)
        }
    }

    /// `rollout resume ID`.
    struct Resume: RunnableCommand {
        static let configuration = CommandConfiguration(abstract: "Continue a paused deployment (rollout.resume).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The deployment id.")
        var deploymentId: String

        func execute(in session: Session) async throws -> ExitStatus {
            try await RolloutCommand.act(RolloutResume.self, deploymentId, in: session)
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
            let params = RolloutList.Params(
                function: function, alias: alias, status: status.flatMap { RolloutCore.DeploymentStatus(rawValue: $0.rawValue) })
            let result = try JSONValue(encoding: await session.call(RolloutList.self, params))
            session.console.emit(result) {
                let deployments = result["deployments"]?.arrayValue ?? []
                // Fleet mode: which node drives each active deployment.
                let fleet = deployments.contains { $0["owner"]?.stringValue != nil }
                var table = Table("DEPLOYMENT", "FUNCTION", "ALIAS", "VERSIONS", "STATUS", "WEIGHT", "STARTED").rightAligning(5)
                if fleet { table = Table("DEPLOYMENT", "FUNCTION", "ALIAS", "VERSIONS", "STATUS", "WEIGHT", "STARTED", "OWNER").rightAligning(5) }
                for deployment in deployments {
                    let row = [
                        deployment["deploymentId"]?.stringValue ?? "", deployment["function"]?.stringValue ?? "",
                        deployment["alias"]?.stringValue ?? "",
                        "\(deployment["fromVersion"]?.stringValue ?? "?") → \(deployment["toVersion"]?.stringValue ?? "?")",
                        deployment["status"]?.stringValue ?? "", deployment["weight"]?.doubleValue.map(HumanText.percent) ?? "",
                        deployment["startedAt"]?.stringValue ?? "",
                    ]
                    table.append(fleet ? row + [deployment["owner"]?.stringValue ?? "-"] : row)
                }
                return table.rendered(header: session.console.bold)
            }
            return .success
        }
    }
}

extension RolloutCommand {
    /// How a followed wait ended.
    private enum WaitOutcome: Sendable {
        /// `rollout.wait` returned the terminal deployment.
        case ended(Deployment)
        /// SIGINT (Ctrl-C) came first.
        case interrupted
    }

    /// `rollout.wait`: on a terminal, a live view redrawn in place (``RolloutLiveView``);
    /// otherwise each event once as a line (on stderr with `--json`); then the final deployment.
    /// 0 when it Succeeded, 4 when it failed or stopped, 3 when the wait timed out (the
    /// deployment as it was is printed too), 130 on Ctrl-C, which ends only the wait: the
    /// deployment keeps running, and the message says how to follow or stop it.
    ///
    /// - Parameter interrupts: SIGINT, trapped by the caller before it started the deployment
    ///   (`rollout start --wait`), else here, before anything is drawn.
    static func follow(
        _ deploymentId: String, timeout: Int?, interrupts: UnixSignalsSequence? = nil, in session: Session
    ) async throws -> ExitStatus {
        let interrupts = if let interrupts { interrupts } else { await UnixSignalsSequence(trapping: .sigint) }
        let params = RolloutWait.Params(deploymentId: deploymentId, timeoutSeconds: timeout.map(Double.init))
        let console = session.console
        let client = try await session.connectedClient()
        let live: RolloutLiveView?
        if console.live {
            live = RolloutLiveView.start(console, deployment: try await client.call(RolloutGet.self, .init(deploymentId: deploymentId)))
        } else {
            live = nil
        }
        let printed = EventLines()
        let outcome: WaitOutcome
        do {
            outcome = try await withThrowingTaskGroup(of: WaitOutcome.self) { group in
                group.addTask {
                    .ended(try await client.call(RolloutWait.self, params) { progress in
                        if let live {
                            live.show(progress)
                        } else if printed.isNew(progress) {
                            console.json ? console.note(eventLine(progress)) : console.print(eventLine(progress))
                        }
                    })
                }
                group.addTask {
                    for await _ in interrupts { break }
                    return .interrupted
                }
                defer { group.cancelAll() }
                guard let first = try await group.next() else { return .interrupted }
                return first
            }
            live?.finish()
        } catch let error as RolloutError where error.code == .deadlineExceeded && !console.json {
            live?.finish()
            guard let deployment = error.data["deployment"] else { throw error }
            console.print(render(deployment: deployment, console: console, events: live != nil))
            return console.report(RolloutError(error.code, error.message), details: [])
        } catch {
            live?.finish()
            throw error
        }
        guard case .ended(let deployment) = outcome else {
            console.note("""
                rolloutctl: interrupted; deployment \(deploymentId) keeps running.
                  follow it: rolloutctl rollout wait \(deploymentId)
                  stop it:   rolloutctl rollout stop \(deploymentId)
                """)
            return .interrupted
        }
        let result = try JSONValue(encoding: deployment)
        // Without the live view every event was printed as a line already.
        console.emit(result) { render(deployment: result, console: console, events: live != nil) }
        guard deployment.status == .succeeded else {
            var message = "rolloutctl: deployment \(deploymentId) ended \(deployment.status.rawValue)"
            if let error = result["error"] {
                message += ": \(error["code"]?.stringValue ?? "?"): \(error["message"]?.stringValue ?? "")"
            }
            console.note(message)
            return .fatal
        }
        return .success
    }

    /// Calls a method that takes `{deploymentId, idempotencyKey?}` and prints its result.
    static func act<M: RPCMethod>(
        _ method: M.Type, _ deploymentId: String, idempotencyKey: String? = nil, in session: Session
    ) async throws -> ExitStatus where M.Params == DeploymentIdParams {
        let result = try JSONValue(encoding: await session.call(method, .init(deploymentId: deploymentId), idempotencyKey: idempotencyKey))
        session.console.emit(result) { HumanText.block(result.objectValue ?? [:]) }
        return .success
    }

    /// A `Deployment` as a key/value block (the weight as a percentage) followed, when
    /// `events`, by its events.
    static func render(deployment: JSONValue, console: Console, events: Bool = true) -> String {
        let rows = HumanText.rows(deployment.objectValue ?? [:], omitting: ["events"]).map { key, value in
            guard key == "weight", let weight = deployment["weight"]?.doubleValue else { return (key, value) }
            return (key, HumanText.percent(weight))
        }
        let block = HumanText.block(rows)
        let list = deployment["events"]?.arrayValue ?? []
        guard events, !list.isEmpty else { return block }
        var table = Table("AT", "EVENT", "DETAIL")
        for event in list {
            table.append([event["at"]?.stringValue ?? "", event["type"]?.stringValue ?? "", humanDetail(event["detail"]?.stringValue ?? "")])
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
        if let detail = event?["detail"]?.stringValue, !detail.isEmpty { parts.append(humanDetail(detail)) }
        return HumanText.singleLine(parts.joined(separator: "  "))
    }

    /// An event's detail with the weights the engine writes as shares (`weight 0.25`) written
    /// as percentages (`weight 25%`), as everywhere else in human output.
    static func humanDetail(_ detail: String) -> String {
        var result = ""
        var rest = Substring(detail)
        while let range = rest.range(of: "weight ") {
            result += rest[..<range.upperBound]
            rest = rest[range.upperBound...]
            let number = rest.prefix { $0.isNumber || $0 == "." }
            if let share = Double(number), !number.hasSuffix(".") {
                result += HumanText.percent(share)
                rest = rest.dropFirst(number.count)
            }
        }
        return result + rest
    }
}

/// Which `rollout.wait` events were printed as lines, so that each is printed once.
final class EventLines: Sendable {
    private let seen = Mutex<Set<JSONValue>>([])

    /// Whether `progress` carries an event not seen before (and remembers it).
    func isNew(_ progress: JSONObject) -> Bool {
        guard let event = progress["event"] else { return true }
        return seen.withLock { $0.insert(event).inserted }
    }
}
