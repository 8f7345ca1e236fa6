public import RolloutCore

/// One point of a traffic-shifting plan: `weight` (0…1) of the traffic on the target version
/// from `atSeconds` after the first shift.
public struct Step: Sendable, Hashable, Codable {
    /// Seconds after the first shift.
    public var atSeconds: Int
    /// Share of traffic on the target version, 0…1.
    public var weight: Double

    /// Creates a step.
    public init(atSeconds: Int, weight: Double) {
        self.atSeconds = atSeconds
        self.weight = weight
    }
}

/// How traffic moves from the current version to the target version (SPEC §4.6).
public enum Strategy: Sendable, Hashable, Codable {
    /// 100% at once.
    case allAtOnce
    /// `percent` of traffic for `intervalSeconds`, then 100%.
    case canary(percent: Double, intervalSeconds: Int)
    /// +`percent` every `intervalSeconds` until 100%.
    case linear(percent: Double, intervalSeconds: Int)

    /// The plan: one step per shift, the last one always at weight 1.
    /// Throws `InvalidParams` naming the field when `percent` ∉ (0, 100] or `intervalSeconds` < 1.
    public func steps() throws(RolloutError) -> [Step] {
        switch self {
        case .allAtOnce:
            return [Step(atSeconds: 0, weight: 1)]
        case .canary(let percent, let interval):
            try Self.validate(percent: percent, intervalSeconds: interval)
            let first = Self.rounded(percent / 100)
            if first >= 1 { return [Step(atSeconds: 0, weight: 1)] }
            return [Step(atSeconds: 0, weight: first), Step(atSeconds: interval, weight: 1)]
        case .linear(let percent, let interval):
            try Self.validate(percent: percent, intervalSeconds: interval)
            var steps: [Step] = []
            var index = 1
            while true {
                let weight = min(1, Self.rounded(Double(index) * percent / 100))
                steps.append(Step(atSeconds: (index - 1) * interval, weight: weight))
                if weight >= 1 { return steps }
                index += 1
            }
        }
    }

    private static func validate(percent: Double, intervalSeconds: Int) throws(RolloutError) {
        guard percent.isFinite, percent > 0, percent <= 100 else {
            throw RolloutError(.invalidParams, "strategy.percent must be in (0, 100], got \(percent)")
        }
        guard intervalSeconds >= 1 else {
            throw RolloutError(.invalidParams, "strategy.intervalSeconds must be at least 1, got \(intervalSeconds)")
        }
    }

    /// Rounds to six decimals so that 3 × 0.1 is 0.3, not 0.30000000000000004.
    static func rounded(_ weight: Double) -> Double {
        (weight * 1_000_000).rounded() / 1_000_000
    }
}
