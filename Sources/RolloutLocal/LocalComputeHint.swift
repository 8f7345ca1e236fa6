public import RolloutCore
import Glibc
import RolloutSystem

/// The `local` provider's `compute.hint` (SPEC §4.5, §5): `source: "local"`, CPUs online and
/// physical memory, each lowered to the cgroup v2 limits (`cpu.max`, `memory.max`) when the
/// daemon runs in a container that sets them.
public final class LocalComputeHint: ComputeHintProvider {
    private let io: BlockingIO
    private let cgroupDirectory: String

    /// `/proc/meminfo` and cgroup files are small; anything larger is not what we expect.
    private static let maxFileBytes = 1 << 20

    init(io: BlockingIO, cgroupDirectory: String = "/sys/fs/cgroup") {
        self.io = io
        self.cgroupDirectory = cgroupDirectory
    }

    /// Machine facts on their own (the AWS provider's fallback off EC2).
    public convenience init() {
        self.init(io: BlockingIO(label: "rolloutd.compute"))
    }

    /// CPUs and memory of this machine, or of its container when limits are set.
    public func hint() async throws -> ComputeHint {
        let cgroupDirectory = cgroupDirectory
        return await io.run { _ in
            let online = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            let cpus = Self.cgroupCPUs(in: cgroupDirectory).map { min($0, online) } ?? online
            let physical = Self.memTotal() ?? Int64(sysconf(Int32(_SC_PHYS_PAGES))) * Int64(sysconf(Int32(_SC_PAGESIZE)))
            let memory = Self.cgroupMemory(in: cgroupDirectory).map { min($0, physical) } ?? physical
            return ComputeHint(provider: "local", source: "local", cpus: cpus, memoryBytes: memory)
        }
    }

    /// `MemTotal` from `/proc/meminfo`, in bytes.
    private static func memTotal() -> Int64? {
        guard let text = contents(of: "/proc/meminfo") else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("MemTotal:") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let kibibytes = Int64(fields[1]) else { return nil }
            return kibibytes * 1024
        }
        return nil
    }

    /// CPUs allowed by `cpu.max` (`"quota period"`, or `"max period"` for no limit), rounded up.
    private static func cgroupCPUs(in directory: String) -> Int? {
        guard let text = contents(of: Directories.join(directory, "cpu.max")) else { return nil }
        let fields = text.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2, let quota = Int(fields[0]), let period = Int(fields[1]), quota > 0, period > 0 else {
            return nil
        }
        return max(1, (quota + period - 1) / period)
    }

    /// Bytes allowed by `memory.max` (`"max"` for no limit).
    private static func cgroupMemory(in directory: String) -> Int64? {
        guard let text = contents(of: Directories.join(directory, "memory.max")) else { return nil }
        guard let field = text.split(whereSeparator: { $0 == " " || $0 == "\n" }).first, let bytes = Int64(field), bytes > 0
        else { return nil }
        return bytes
    }

    /// A small file's text, or nil when it cannot be read (absent outside Linux or cgroup v2).
    private static func contents(of path: String) -> String? {
        let bytes = try? FileDescriptor(path: path, flags: O_RDONLY).readToEnd(maxBytes: maxFileBytes)
        return bytes.flatMap { String(validating: $0, as: UTF8.self) }
    }
}
