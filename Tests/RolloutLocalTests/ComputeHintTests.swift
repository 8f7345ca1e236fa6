import Foundation
import RolloutCore
@testable import RolloutLocal
import RolloutSystem
import Testing

@Suite("Local compute hint")
struct ComputeHintTests {
    @Test("reports local CPUs and memory")
    func hint() async throws {
        try await withProvider { provider, _ in
            let hint = try await provider.compute.hint()
            #expect(hint.provider == "local")
            #expect(hint.source == "local")
            #expect(hint.cpus >= 1)
            #expect(hint.memoryBytes > 0)
            #expect(hint.region == nil)
        }
    }

    @Test("cgroup v2 limits lower the figures; 'max' means no limit")
    func cgroupLimits() async throws {
        try await withTemporaryDirectory { directory in
            let io = BlockingIO(label: "test")
            let unlimited = try await LocalComputeHint(io: io, cgroupDirectory: directory + "/none").hint()

            try Data("50000 100000\n".utf8).write(to: URL(fileURLWithPath: directory + "/cpu.max"))
            try Data("1048576\n".utf8).write(to: URL(fileURLWithPath: directory + "/memory.max"))
            let limited = try await LocalComputeHint(io: io, cgroupDirectory: directory).hint()
            #expect(limited.cpus == 1)
            #expect(limited.memoryBytes == 1_048_576)

            try Data("max 100000\n".utf8).write(to: URL(fileURLWithPath: directory + "/cpu.max"))
            try Data("max\n".utf8).write(to: URL(fileURLWithPath: directory + "/memory.max"))
            let open = try await LocalComputeHint(io: io, cgroupDirectory: directory).hint()
            #expect(open.cpus == unlimited.cpus)
            #expect(open.memoryBytes == unlimited.memoryBytes)
        }
    }
}
