import ArgumentParser
import RolloutCore
import RolloutRPC

/// `rolloutctl compute hint` → `compute.hint`.
struct ComputeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compute",
        abstract: "Facts about the machine the daemon runs on (compute.hint).",
        subcommands: [Hint.self]
    )
}

extension ComputeCommand {
    /// `compute hint`.
    struct Hint: RunnableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show the instance's region, type, lifecycle, interruption notice, CPUs and memory (compute.hint).")

        @OptionGroup(title: "Global Options") var globals: GlobalOptions

        func execute(in session: Session) async throws -> ExitStatus {
            let result = try JSONValue(encoding: await session.call(ComputeHintMethod.self))
            session.console.emit(result) {
                var rows = HumanText.rows(result.objectValue ?? [:])
                if let memory = result["memoryBytes"]?.int64Value, let index = rows.firstIndex(where: { $0.0 == "memoryBytes" }) {
                    rows[index].1 += " (\(HumanText.bytes(memory)))"
                }
                return HumanText.block(rows)
            }
            return .success
        }
    }
}
