

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
    public static func rounded(_ weight: Double) -> Double {
        (weight * 1_000_000).rounded() / 1_000_000
    }
}

extension Strategy {
    private enum CodingKeys: String, CodingKey {
        case type, percent, intervalSeconds
    }

    /// The wire name: `allAtOnce`, `canary` or `linear`.
    public var typeName: String {
        switch self {
        case .allAtOnce: "allAtOnce"
        case .canary: "canary"
        case .linear: "linear"
        }
    }

    /// Decodes the wire shape `{type, percent?, intervalSeconds?}` (SPEC §4.6).
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "allAtOnce":
            self = .allAtOnce
        case "canary", "linear":
            guard let percent = try container.decodeIfPresent(Double.self, forKey: .percent) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.percent, .init(codingPath: container.codingPath, debugDescription: "strategy \(type) needs 'percent'")
                )
            }
            guard let interval = try container.decodeIfPresent(Int.self, forKey: .intervalSeconds) else {
                throw DecodingError.keyNotFound(
                    CodingKeys.intervalSeconds,
                    .init(codingPath: container.codingPath, debugDescription: "strategy \(type) needs 'intervalSeconds'")
                )
            }
            self = type == "canary" ? .canary(percent: percent, intervalSeconds: interval) : .linear(percent: percent, intervalSeconds: interval)
        default:
            throw DecodingError.dataCorruptedError(
                forKey: .type, in: container, debugDescription: "strategy.type must be allAtOnce, canary or linear (got \(type))"
            )
        }
    }

    /// Encodes the wire shape `{type, percent?, intervalSeconds?}`.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(typeName, forKey: .type)
        switch self {
        case .allAtOnce:
            break
        case .canary(let percent, let interval), .linear(let percent, let interval):
            try container.encode(percent, forKey: .percent)
            try container.encode(interval, forKey: .intervalSeconds)
        }
    }
}
