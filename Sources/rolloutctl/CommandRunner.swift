import ArgumentParser
import RolloutCore

/// Parses the command line, runs the command and turns every outcome into an exit status.
///
/// Parsing goes through `parseAsRoot` rather than `main()` so that usage errors exit 2
/// (ArgumentParser's own choice is 64, `EX_USAGE`).
enum CommandRunner {
    /// Runs `rolloutctl` with `arguments` (without the program name) and returns the exit status.
    static func run(arguments: [String]) async -> Int32 {
        var command: any ParsableCommand
        do {
            command = try Rolloutctl.parseAsRoot(hoistingGlobalOptions(arguments))
        } catch {
            return parserOutcome(error).rawValue
        }
        guard let runnable = command as? any RunnableCommand else {
            // A command group named without a subcommand, or ArgumentParser's `help`.
            do {
                try command.run()
                return ExitStatus.success.rawValue
            } catch {
                return parserOutcome(error).rawValue
            }
        }
        let session = Session(globals: runnable.globals)
        let status: ExitStatus
        do {
            status = try await runnable.execute(in: session)
        } catch {
            status = session.console.report(error)
        }
        await session.close()
        return status.rawValue
    }

    /// `arguments` with the global options (`--json`, `--no-progress`, `--socket P`, `--config P`, also in
    /// `--name=value` form) moved to the end, ahead of a `--` terminator if there is one.
    ///
    /// ArgumentParser only lets a command group parse the arguments written before the next
    /// command name, so `rolloutctl --json health` would be refused; every leaf command accepts
    /// the global options anywhere, so moving them there changes nothing else.
    static func hoistingGlobalOptions(_ arguments: [String]) -> [String] {
        let terminator = arguments.firstIndex(of: "--") ?? arguments.endIndex
        var rest: [String] = []
        var globals: [String] = []
        var index = arguments.startIndex
        while index < terminator {
            let argument = arguments[index]
            if argument == "--json" || argument == "--no-progress" || argument.hasPrefix("--socket=") || argument.hasPrefix("--config=") {
                globals.append(argument)
            } else if argument == "--socket" || argument == "--config" {
                globals.append(argument)
                if index + 1 < terminator {
                    index += 1
                    globals.append(arguments[index])
                }
            } else {
                rest.append(argument)
            }
            index += 1
        }
        return rest + globals + arguments[terminator...]
    }

    /// Help and version requests print to stdout and succeed; anything else ArgumentParser
    /// throws is a usage error, printed with the usage line to stderr.
    private static func parserOutcome(_ error: any Error) -> ExitStatus {
        let message = Rolloutctl.fullMessage(for: error)
        if Rolloutctl.exitCode(for: error) == .success {
            StandardStream.output.write(message.hasSuffix("\n") ? message : message + "\n")
            return .success
        }
        StandardStream.error.write(message.hasSuffix("\n") ? message : message + "\n")
        return .usage
    }
}
