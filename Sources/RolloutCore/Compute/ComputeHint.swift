/// A pending spot interruption.
public struct SpotInterruption: Sendable, Hashable, Codable {
    /// `terminate`, `stop` or `hibernate`.
    public var action: String
    /// When, RFC 3339 UTC.
    public var time: String

    /// Creates an interruption notice.
    public init(action: String, time: String) {
        self.action = action
        self.time = time
    }
}

/// The result of `compute.hint` (SPEC §4.5).
public struct ComputeHint: Sendable, Hashable, Codable {
    /// `aws` or `local`.
    public var provider: String
    /// `imdsv2` or `local`.
    public var source: String
    /// Region, from IMDS `placement/region`.
    public var region: String?
    /// Availability zone.
    public var availabilityZone: String?
    /// EC2 instance id.
    public var instanceId: String?
    /// EC2 instance type.
    public var instanceType: String?
    /// `spot` or `on-demand`.
    public var lifecycle: String?
    /// A pending spot interruption.
    public var interruption: SpotInterruption?
    /// When a rebalance was recommended.
    public var rebalanceRecommendedAt: String?
    /// Online CPUs.
    public var cpus: Int
    /// Physical memory in bytes.
    public var memoryBytes: Int64

    /// Creates a hint.
    public init(
        provider: String, source: String, region: String? = nil, availabilityZone: String? = nil,
        instanceId: String? = nil, instanceType: String? = nil, lifecycle: String? = nil,
        interruption: SpotInterruption? = nil, rebalanceRecommendedAt: String? = nil, cpus: Int, memoryBytes: Int64
    ) {
        self.provider = provider
        self.source = source
        self.region = region
        self.availabilityZone = availabilityZone
        self.instanceId = instanceId
        self.instanceType = instanceType
        self.lifecycle = lifecycle
        self.interruption = interruption
        self.rebalanceRecommendedAt = rebalanceRecommendedAt
        self.cpus = cpus
        self.memoryBytes = memoryBytes
    }
}

/// The ComputeHint capability.
public protocol ComputeHintProvider: Sendable {
    /// Facts about the machine the daemon runs on.
    func hint() async throws -> ComputeHint
}
