#if FUZZING
import CLibFuzzer
#endif
import Foundation

/// `rollout-fuzz`: built by `make fuzz` with `-sanitize=fuzzer -DFUZZING`, it hands its arguments
/// to libFuzzer, which feeds inputs to ``ProtocolInvariants``; in a normal build,
/// `rollout-fuzz FILE|DIR...` replays inputs instead (the committed corpus as a regression test, or
/// a crash file the fuzzer wrote).
@main
enum FuzzEntry {
    static func main() throws {
        #if FUZZING
        var argc = CommandLine.argc
        var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
        exit(LLVMFuzzerRunDriver(&argc, &argv, fuzzOneInput))
        #else
        var count = 0
        for argument in CommandLine.arguments.dropFirst() {
            for path in try files(at: argument) {
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw ReplayError(description: "cannot read \(path)")
                }
                data.withUnsafeBytes { ProtocolInvariants.check($0) }
                count += 1
            }
        }
        print("replayed \(count) inputs: every invariant holds")
        #endif
    }

    /// `path` itself, or the files of the directory `path`.
    private static func files(at path: String) throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ReplayError(description: "no such file or directory: \(path)")
        }
        guard isDirectory.boolValue else { return [path] }
        return try FileManager.default.contentsOfDirectory(atPath: path).sorted().map { path + "/" + $0 }
    }
}

/// libFuzzer's callback, under the name libFuzzer's runtime also links against: one input
/// through ``ProtocolInvariants``.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    ProtocolInvariants.check(UnsafeRawBufferPointer(start: data, count: data == nil ? 0 : size))
    return 0
}

/// Why a replay could not run.
struct ReplayError: Error, CustomStringConvertible {
    var description: String
}
