import Foundation
import RolloutConfig
import Testing

/// SPEC §2: a `file_roots` entry may not contain, or lie inside, `state_dir` or
/// `[cloud.local].root`.
@Suite("file_roots overlap")
struct FileRootOverlapTests {
    static func config(roots: [String], stateDir: String, localRoot: String, provider: String = "local") -> String {
        let list = roots.map { "\"\($0)\"" }.joined(separator: ", ")
        return """
            [server]
            file_roots = [\(list)]
            state_dir = "\(stateDir)"
            [cloud]
            provider = "\(provider)"
            [cloud.local]
            root = "\(localRoot)"
            """
    }

    static func overlapMessages(_ toml: String) -> [String] {
        problems(in: toml).filter { $0.key == "server.file_roots" }.map(\.message)
    }

    @Test(arguments: [
        ("/srv/r/state", "server.state_dir"),  // the same directory
        ("/srv/r", "server.state_dir"),  // contains it (and the local root)
        ("/srv/r", "cloud.local.root"),
        ("/srv/r/state/files", "server.state_dir"),  // inside it
        ("/srv/r/state/../state/", "server.state_dir"),  // the same, once normalised
        ("//srv/./r/local", "cloud.local.root"),
        ("/srv/r/local/files", "cloud.local.root"),
    ])
    func overlappingRootIsRefusedNamingBothKeys(root: String, key: String) throws {
        let messages = Self.overlapMessages(
            Self.config(roots: ["/srv/other", root], stateDir: "/srv/r/state", localRoot: "/srv/r/local"))
        let message = try #require(messages.first { $0.contains(key) })
        #expect(message.contains("server.file_roots[1] = \"\(root)\""))
        #expect(!messages.contains { $0.contains("server.file_roots[0]") })
    }

    @Test func neighboursAndSharedNamePrefixesAreFine() {
        let toml = Self.config(
            roots: ["/srv/r/files", "/srv/r/state2", "/srv/r/localx"], stateDir: "/srv/r/state", localRoot: "/srv/r/local")
        #expect(problems(in: toml).isEmpty)
    }

    @Test func relativePathsAreResolvedAgainstTheWorkingDirectory() {
        let cwd = FileManager.default.currentDirectoryPath
        #expect(Self.overlapMessages(Self.config(roots: ["."], stateDir: ".rollout/state", localRoot: "/nowhere/l")).count == 1)
        #expect(Self.overlapMessages(Self.config(roots: [cwd], stateDir: "s", localRoot: "/nowhere/l")).count == 1)
        #expect(Self.overlapMessages(Self.config(roots: ["files"], stateDir: "\(cwd)/files/s", localRoot: "/nowhere/l")).count == 1)
        #expect(Self.overlapMessages(Self.config(roots: ["files"], stateDir: "\(cwd)/state", localRoot: "/nowhere/l")).isEmpty)
    }

    @Test func aSymlinkCannotHideTheOverlap() throws {
        try withTemporaryDirectory { directory in
            let data = directory + "/data"
            try FileManager.default.createDirectory(atPath: data + "/state", withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: directory + "/link", withDestinationPath: data)
            // The root is a symlink to the directory holding the state directory.
            let viaRoot = Self.overlapMessages(
                Self.config(roots: [directory + "/link"], stateDir: data + "/state", localRoot: directory + "/local"))
            #expect(viaRoot.count == 1)
            #expect(viaRoot.first?.contains("(\(data) and \(data)/state)") == true)
            // The state directory does not exist yet, but its parent is a symlink into the root.
            let viaState = Self.overlapMessages(
                Self.config(roots: [data], stateDir: directory + "/link/new-state", localRoot: directory + "/local"))
            #expect(viaState.count == 1)
            // Lexically unrelated and really unrelated.
            #expect(Self.overlapMessages(
                Self.config(roots: [directory + "/link/files"], stateDir: directory + "/state", localRoot: directory + "/local")
            ).isEmpty)
        }
    }

    @Test func theLocalRootOnlyMattersForTheLocalProvider() {
        let toml = Self.config(roots: ["/srv/r/local"], stateDir: "/srv/r/state", localRoot: "/srv/r/local", provider: "aws")
        #expect(Self.overlapMessages(toml).isEmpty)
    }

    @Test func theDaemonsStartupCheckReportsIt() throws {
        try withTemporaryDirectory { directory in
            let path = directory + "/rollout.toml"
            try Self.config(roots: [directory], stateDir: directory + "/state", localRoot: directory + "/local")
                .write(toFile: path, atomically: true, encoding: .utf8)
            #expect(throws: ConfigurationError.self) { try ConfigurationLoader.load(.commandLine(path: path)) }
        }
    }
}
