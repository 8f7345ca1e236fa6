import ArgumentParser
import RolloutCore
import RolloutRPC

/// `rolloutctl secret get` → `secret.get`.
struct SecretCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret",
        abstract: "Read allowlisted secrets (secret.get).",
        subcommands: [Get.self]
    )
}

extension SecretCommand {
    /// The version stages `--stage` accepts.
    enum Stage: String, ExpressibleByArgument, CaseIterable {
        case current = "AWSCURRENT"
        case previous = "AWSPREVIOUS"
    }

    /// `secret get NAME [--stage AWSCURRENT|AWSPREVIOUS] [--refresh]`.
    struct Get: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print a secret's value (secret.get).",
            discussion: "Prints only the value (a binary secret in base64), newline-terminated; --json prints the whole result."
        )

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        @Argument(help: "The secret's name, exactly as allowlisted.")
        var name: String

        @Option(help: "The version stage (default AWSCURRENT).")
        var stage: Stage?

        @Flag(help: "Bypass the daemon's cache.")
        var refresh = false

        func execute(in session: Session) async throws -> ExitStatus {
            let params = SecretGet.Params(name: name, versionStage: stage?.rawValue, refresh: refresh ? true : nil)
            let result = try await session.call(SecretGet.self, params)
            if session.console.json {
                session.console.printJSON(try JSONValue(encoding: result))
            } else {
                StandardStream.output.write((result.value ?? result.binary ?? "") + "\n")
            }
            return .success
        }
    }
}
