import Foundation
import RolloutConfig
import RolloutCore
import Testing

@Suite("Locating and loading")
struct LoaderTests {
    @Test func lookupOrder() throws {
        try withTemporaryDirectory { directory in
            let explicit = directory + "/explicit.toml"
            let fromEnvironment = directory + "/env.toml"
            let environment = ["ROLLOUT_CONFIG": fromEnvironment]

            // No file anywhere: built-in defaults.
            #expect(
                ConfigurationLoader.locate(explicitPath: nil, environment: [:], currentDirectory: directory)
                    == .defaults)
            // An empty $ROLLOUT_CONFIG counts as unset.
            #expect(
                ConfigurationLoader.locate(
                    explicitPath: nil, environment: ["ROLLOUT_CONFIG": ""], currentDirectory: directory)
                    == .defaults
            )

            // ./rollout.toml once it exists.
            let local = directory + "/rollout.toml"
            try "".write(toFile: local, atomically: true, encoding: .utf8)
            #expect(
                ConfigurationLoader.locate(explicitPath: nil, environment: [:], currentDirectory: directory)
                    == .workingDirectory(path: local)
            )
            #expect(
                ConfigurationLoader.locate(explicitPath: nil, environment: [:], currentDirectory: directory + "/")
                    == .workingDirectory(path: local)
            )
            // $ROLLOUT_CONFIG beats ./rollout.toml, even when the file it names is missing.
            #expect(
                ConfigurationLoader.locate(explicitPath: nil, environment: environment, currentDirectory: directory)
                    == .environment(path: fromEnvironment)
            )
            // --config beats both.
            #expect(
                ConfigurationLoader.locate(
                    explicitPath: explicit, environment: environment, currentDirectory: directory)
                    == .commandLine(path: explicit)
            )
        }
    }

    @Test func directoryNamedRolloutTomlIsIgnored() throws {
        try withTemporaryDirectory { directory in
            try FileManager.default.createDirectory(
                atPath: directory + "/rollout.toml", withIntermediateDirectories: false)
            #expect(
                ConfigurationLoader.locate(explicitPath: nil, environment: [:], currentDirectory: directory)
                    == .defaults)
        }
    }

    @Test func loadsEachSource() throws {
        try withTemporaryDirectory { directory in
            #expect(try ConfigurationLoader.load(.defaults) == .default)
            #expect(try ConfigurationLoader.load(.defaults, awsProviderCompiledIn: false) == .default)

            let path = directory + "/rollout.toml"
            try "[server]\nmax_inflight_per_connection = 7\n".write(toFile: path, atomically: true, encoding: .utf8)
            for source in [
                ConfigSource.commandLine(path: path), .environment(path: path), .workingDirectory(path: path),
            ] {
                #expect(try ConfigurationLoader.load(source).server.maxInflightPerConnection == 7)
            }
        }
    }

    @Test func problemsNameTheFileAsLocated() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/bad.toml"
            try "[server]\nmax_inflight_per_connection = 0\n".write(toFile: path, atomically: true, encoding: .utf8)
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(.environment(path: path))
            }
            #expect(error?.problems.map(\.file) == [path])
            #expect(error?.description.hasPrefix("\(path): server.max_inflight_per_connection = 0") == true)
        }
    }

    @Test func unreadableFiles() throws {
        try withTemporaryDirectory { directory in
            let missing = directory + "/missing.toml"
            let error = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(.commandLine(path: missing))
            }
            #expect(error?.description == "\(missing): configuration file not found")

            let notUTF8 = directory + "/latin1.toml"
            try Data([0x23, 0x20, 0xE9, 0x0A]).write(to: URL(fileURLWithPath: notUTF8))
            let encoding = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(.commandLine(path: notUTF8))
            }
            #expect(encoding?.problems.map(\.message) == ["configuration file is not valid UTF-8"])

            let isDirectory = #expect(throws: ConfigurationError.self) {
                try ConfigurationLoader.load(.commandLine(path: directory))
            }
            #expect(isDirectory?.problems.map(\.key) == [nil])
        }
    }

    @Test(arguments: ["config/local.toml", "config/example-aws.toml"])
    func shippedFilesLoadCleanly(file: String) throws {
        let path = repositoryFile(file)
        _ = try ConfigurationLoader.load(.commandLine(path: path))
    }

    @Test func localFileIsWhatMakeRunNeeds() throws {
        let path = repositoryFile("config/local.toml")
        let config = try ConfigurationLoader.load(.commandLine(path: path), awsProviderCompiledIn: false)
        var expected = Configuration.default
        expected.cloud.local.secretsAllowlist = ["demo/token"]
        #expect(config == expected)
    }

    @Test func sourceDescriptions() {
        #expect(ConfigSource.commandLine(path: "a.toml").description == "--config a.toml")
        #expect(ConfigSource.environment(path: "b.toml").description == "$ROLLOUT_CONFIG=b.toml")
        #expect(ConfigSource.workingDirectory(path: "/w/rollout.toml").description == "/w/rollout.toml")
        #expect(ConfigSource.defaults.description == "built-in defaults")
        #expect(ConfigSource.defaults.path == nil)
    }
}

@Suite("Resolving paths")
struct ResolvingPathsTests {
    @Test func relativePathsAreJoinedAbsoluteOnesKept() {
        var config = Configuration.default
        config.server.fileRoots = [".rollout/files", "/data", "./models", "."]
        let resolved = config.resolvingPaths(relativeTo: "/srv/app/")
        #expect(resolved.server.socket == "/srv/app/.rollout/rollout.sock")
        #expect(resolved.server.stateDir == "/srv/app/.rollout/state")
        #expect(resolved.server.fileRoots == ["/srv/app/.rollout/files", "/data", "/srv/app/models", "/srv/app"])
        #expect(resolved.cloud.local.root == "/srv/app/.rollout/local")
        #expect(resolved.resolvingPaths(relativeTo: "/elsewhere") == resolved)
        #expect(Configuration.default.resolvingPaths(relativeTo: "/").server.socket == "/.rollout/rollout.sock")
    }

    @Test func resolvedSocketIsValidatedAgain() {
        let deep = "/" + String(repeating: "d", count: 100)
        let resolved = Configuration.default.resolvingPaths(relativeTo: deep)
        #expect(
            ConfigurationLoader.validate(resolved, file: "rollout.toml", awsProviderCompiledIn: true).map(\.key)
                == ["server.socket"]
        )
    }
}
