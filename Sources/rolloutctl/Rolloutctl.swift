import ArgumentParser
import RolloutCore

/// The root of the command tree (SPEC §7).
///
/// The global options are parsed by every leaf command's ``GlobalOptions`` group;
/// ``CommandRunner`` moves those written before the command name to the end of the line. The
/// root declares them too, so that its help lists them.
struct Rolloutctl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rolloutctl",
        abstract: "Command-line client of rolloutd.",
        discussion: """
            Global options (--socket, --config, --json, --no-progress) may be given before or after the command. \
            The socket is --socket, else $ROLLOUT_SOCKET, else [server].socket of the configuration \
            (--config, else $ROLLOUT_CONFIG, else ./rollout.toml, else the built-in defaults).

            Exit status: 0 success, 2 usage error, 3 recoverable error (retrying later may help, \
            e.g. the daemon is not running), 4 fatal error.

            Shell completions: rolloutctl completion bash|zsh|fish, the same as \
            rolloutctl --generate-completion-script bash|zsh|fish (make install puts them where each shell looks).
            """,
        version: RolloutVersion.current,
        subcommands: [
            Health.self, Call.self, Ping.self,
            ObjectCommand.self, QueueCommand.self, SecretCommand.self, ComputeCommand.self,
            RolloutCommand.self, ConfigCommand.self, FleetCommand.self, Completion.self,
        ]
    )

    @OptionGroup(title: "Global Options") var globals: GlobalOptions
}

/// A leaf command: runs against a ``Session`` and says how the process should exit.
///
/// ``CommandRunner`` calls ``execute(in:)`` instead of ArgumentParser's `run()`, so that every
/// command shares one error report and one mapping to exit statuses.
protocol RunnableCommand: ParsableCommand {
    /// `--socket`, `--config`, `--json`.
    var globals: GlobalOptions { get }

    /// Does the work and prints the result; thrown errors are reported by the runner.
    func execute(in session: Session) async throws -> ExitStatus
}

/// The process exit statuses of SPEC §7.
enum ExitStatus: Int32, Sendable {
    /// The command did what was asked.
    case success = 0
    /// The command line was wrong.
    case usage = 2
    /// A recoverable error: retrying later may succeed.
    case recoverable = 3
    /// A fatal error: it will not succeed until something changes.
    case fatal = 4
    /// Interrupted by SIGINT (Ctrl-C): 128 + 2, as shells report it.
    case interrupted = 130
}
