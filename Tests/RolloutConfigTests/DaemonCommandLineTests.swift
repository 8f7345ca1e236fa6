import RolloutConfig
import RolloutCore
import Testing

@Suite("rolloutd's command line")
struct DaemonCommandLineTests {
    typealias Options = DaemonCommandLine.Options

    @Test("options with separate and = values; the last of a repeated option wins")
    func options() throws {
        #expect(try DaemonCommandLine.parse([]) == .run(Options()))
        #expect(
            try DaemonCommandLine.parse(["--config", "/etc/r.toml", "--log-level=debug"])
                == .run(Options(config: "/etc/r.toml", logLevel: "debug")))
        #expect(try DaemonCommandLine.parse(["--config=a", "--config", "b"]) == .run(Options(config: "b")))
        #expect(
            try DaemonCommandLine.parse(["--fleet-init", "--fleet-table", "t", "--config", "c"])
                == .run(Options(config: "c", fleetInit: true, fleetTable: "t")))
        #expect(try DaemonCommandLine.parse(["--config="]) == .run(Options(config: "")))
    }

    @Test("--help, -h and --version")
    func helpAndVersion() throws {
        #expect(try DaemonCommandLine.parse(["--help"]) == .help)
        #expect(try DaemonCommandLine.parse(["--config", "x", "-h"]) == .help)
        #expect(try DaemonCommandLine.parse(["--version"]) == .version)
        #expect(DaemonCommandLine.usage.contains("--config <config>") && DaemonCommandLine.usage.contains("--log-level"))
    }

    @Test("each mistake is named", arguments: [
        (["--bogus"], "unknown option '--bogus'"),
        (["-x"], "unknown option '-x'"),
        (["stray"], "unexpected argument 'stray'"),
        (["--config"], "missing value for '--config <config>'"),
        (["--log-level", "--config", "x"], "missing value for '--log-level <log-level>'"),
        (["--fleet-init=yes"], "'--fleet-init' takes no value"),
    ])
    func mistakes(arguments: [String], message: String) {
        #expect(throws: DaemonCommandLine.UsageError(description: message)) { try DaemonCommandLine.parse(arguments) }
    }

    @Test("--experimental-dump-help describes exactly the options the parser accepts (generate-manual writes rolloutd(8) from it)")
    func toolInfo() throws {
        #expect(try DaemonCommandLine.parse(["--experimental-dump-help"]) == .dumpHelp)
        let command = try #require(DaemonCommandLine.toolInfo["command"])
        #expect(command["commandName"]?.stringValue == "rolloutd")
        let arguments = try #require(command["arguments"]?.arrayValue)
        var shown: [String] = []
        for argument in arguments {
            let name = try #require(argument["preferredName"]?["name"]?.stringValue)
            let isFlag = argument["kind"]?.stringValue == "flag"
            if argument["shouldDisplay"] == .bool(true) { shown.append(name) }
            // Each described option parses: a flag alone, an option with a value.
            let parsed = try DaemonCommandLine.parse(isFlag ? ["--\(name)"] : ["--\(name)", "x"])
            switch name {
            case "help": #expect(parsed == .help)
            case "version": #expect(parsed == .version)
            default: #expect(parsed != .help && parsed != .version && parsed != .dumpHelp, "\(name)")
            }
        }
        #expect(shown == ["config", "log-level", "version", "help"])
        #expect(throws: DaemonCommandLine.UsageError.self) { try DaemonCommandLine.parse(["--not-described"]) }
    }
}
