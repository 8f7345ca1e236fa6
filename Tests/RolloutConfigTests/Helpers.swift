import Foundation
import RolloutConfig
import RolloutCore

/// Parses `toml` as `rollout.toml` and returns the problems found (empty when it is valid).
func problems(in toml: String, awsProviderCompiledIn: Bool = true) -> [ConfigurationError.Problem] {
    do {
        _ = try ConfigurationLoader.parse(
            toml: toml, file: "rollout.toml", awsProviderCompiledIn: awsProviderCompiledIn)
        return []
    } catch {
        return error.problems
    }
}

/// A one-key document: `cloud.aws.s3.upload_concurrency` and `4` give
/// `[cloud.aws.s3]\nupload_concurrency = 4`.
func document(setting dottedKey: String, to literal: String) -> String {
    let parts = dottedKey.split(separator: ".")
    return "[\(parts.dropLast().joined(separator: "."))]\n\(parts.last!) = \(literal)\n"
}

/// The path of `relativePath` in this repository, found from this file's path.
func repositoryFile(_ relativePath: String) -> String {
    URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
        .appendingPathComponent(relativePath)
        .path
}

/// Runs `body` with a fresh empty directory, removed afterwards.
func withTemporaryDirectory<Result>(_ body: (String) throws -> Result) throws -> Result {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("rollout-config-tests-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    return try body(directory.path)
}
