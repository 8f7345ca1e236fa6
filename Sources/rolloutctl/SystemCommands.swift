import ArgumentParser
import RolloutCore
import RolloutRPC

/// `rolloutctl health` → `sys.health`.
struct Health: RunnableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's health and each capability's (sys.health).")

    @OptionGroup(title: "Global Options") var globals: GlobalOptions

    func execute(in session: Session) async throws -> ExitStatus {
        let result = try JSONValue(encoding: await session.call(RolloutRPC.Health.self))
        session.console.emit(result) { Self.render(result, console: session.console) }
        return .success
    }

    /// A key/value block for the daemon, then one table row per capability.
    static func render(_ health: JSONValue, console: Console) -> String {
        var summary = HumanText.rows(health.objectValue ?? [:], omitting: ["capabilities", "uptimeMs"])
        if let uptime = health["uptimeMs"]?.int64Value {
            summary.append(("uptime", HumanText.oneDecimal(Double(uptime) / 1000) + " s"))
        }
        var table = Table("CAPABILITY", "OK", "DETAIL", "LAST ERROR")
        for (name, capability) in health["capabilities"]?.objectValue ?? [:] {
            table.append([
                name,
                capability["ok"]?.boolValue == true ? "yes" : "no",
                capability["detail"]?.stringValue ?? "",
                capability["lastError"]?.stringValue ?? "",
            ])
        }
        return HumanText.block(summary) + "\n\n" + table.rendered(header: console.bold)
    }
}

/// `rolloutctl call METHOD [JSON]`: any method with raw params; prints the raw result.
struct Call: RunnableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call any method with a JSON params object and print the result as JSON.")

    @OptionGroup(title: "Global Options") var globals: GlobalOptions

    @Argument(help: "The method, e.g. sys.ping or object.head.")
    var method: String

    @Argument(help: ArgumentHelp("The params object, e.g. '{\"key\":\"a\"}'. Default {}.", valueName: "json"))
    var params: String?

    func validate() throws {
        _ = try paramsObject()
    }

    func execute(in session: Session) async throws -> ExitStatus {
        session.console.printJSON(try await session.callByName(method, paramsObject()))
        return .success
    }

    private func paramsObject() throws(ValidationError) -> JSONObject {
        guard let params else { return [:] }
        return try ArgumentValues.object(params, argument: "the params argument")
    }
}

/// `rolloutctl ping`: the round-trip time of `sys.ping` on an open connection.
struct Ping: RunnableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Measure the round-trip time of sys.ping (the connection is opened first).")

    @OptionGroup(title: "Global Options") var globals: GlobalOptions

    func execute(in session: Session) async throws -> ExitStatus {
        _ = try await session.call(RolloutRPC.Ping.self)  // connects, so the timed call measures one round trip
        let clock = ContinuousClock()
        let elapsed = try await clock.measure { _ = try await session.call(RolloutRPC.Ping.self) }
        let milliseconds = Double(elapsed.components.seconds) * 1e3 + Double(elapsed.components.attoseconds) / 1e15
        let rounded = (milliseconds * 1000).rounded() / 1000
        session.console.emit(["rttMs": .number(JSONNumber(rounded))]) { "pong in \(rounded) ms" }
        return .success
    }
}

/// `rolloutctl completion bash|zsh|fish`: the completion script, as ArgumentParser's
/// `--generate-completion-script` prints it, as a command that `--help` lists.
struct Completion: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print the shell completion script for bash, zsh or fish.",
        discussion: """
            The same as 'rolloutctl --generate-completion-script SHELL'. For example: \
            rolloutctl completion bash > /etc/bash_completion.d/rolloutctl; \
            rolloutctl completion zsh > "${fpath[1]}/_rolloutctl"; \
            rolloutctl completion fish > ~/.config/fish/completions/rolloutctl.fish. \
            'make install' installs all three.
            """
    )

    /// The shells ArgumentParser writes scripts for.
    enum Shell: String, ExpressibleByArgument, CaseIterable {
        case bash
        case zsh
        case fish

        var completionShell: CompletionShell? { CompletionShell(rawValue: rawValue) }
    }

    @Argument(help: "The shell.")
    var shell: Shell

    func run() throws {
        guard let shell = shell.completionShell else { throw ValidationError("no completion script for \(shell.rawValue)") }
        let script = Rolloutctl.completionScript(for: shell)
        StandardStream.output.write(script.hasSuffix("\n") ? script : script + "\n")
    }
}
