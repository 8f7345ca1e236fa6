public import RolloutCore

/// A Lambda deployment config's `trafficRoutingConfig` (CodeDeploy `TrafficRoutingConfig`):
/// whole percentages and whole minutes.
public enum TrafficRouting: Sendable, Hashable {
    /// `AllAtOnce`.
    case allAtOnce
    /// `TimeBasedCanary {canaryPercentage, canaryInterval}`: `percent` first, the rest after
    /// `intervalMinutes`.
    case timeBasedCanary(percent: Int, intervalMinutes: Int)
    /// `TimeBasedLinear {linearPercentage, linearInterval}`: +`percent` every `intervalMinutes`.
    case timeBasedLinear(percent: Int, intervalMinutes: Int)

    /// The wire shape.
    public var json: JSONValue {
        switch self {
        case .allAtOnce:
            ["type": "AllAtOnce"]
        case .timeBasedCanary(let percent, let minutes):
            [
                "type": "TimeBasedCanary",
                "timeBasedCanary": ["canaryPercentage": .number(JSONNumber(percent)), "canaryInterval": .number(JSONNumber(minutes))],
            ]
        case .timeBasedLinear(let percent, let minutes):
            [
                "type": "TimeBasedLinear",
                "timeBasedLinear": ["linearPercentage": .number(JSONNumber(percent)), "linearInterval": .number(JSONNumber(minutes))],
            ]
        }
    }

    /// Parses the wire shape; nil for an unknown type or missing members.
    public init?(json: JSONValue) {
        func int(_ value: JSONValue?) -> Int? { value?.int64Value.map { Int($0) } }
        switch json["type"]?.stringValue {
        case "AllAtOnce":
            self = .allAtOnce
        case "TimeBasedCanary":
            guard let percent = int(json["timeBasedCanary"]?["canaryPercentage"]),
                  let minutes = int(json["timeBasedCanary"]?["canaryInterval"])
            else { return nil }
            self = .timeBasedCanary(percent: percent, intervalMinutes: minutes)
        case "TimeBasedLinear":
            guard let percent = int(json["timeBasedLinear"]?["linearPercentage"]),
                  let minutes = int(json["timeBasedLinear"]?["linearInterval"])
            else { return nil }
            self = .timeBasedLinear(percent: percent, intervalMinutes: minutes)
        default:
            return nil
        }
    }
}

/// The CodeDeploy deployment config a ``Strategy`` runs with (pure; no I/O).
///
/// - A strategy that is exactly one of the predefined Lambda configs gets its name
///   (`CodeDeployDefault.LambdaAllAtOnce`, `LambdaCanary10Percent{5,10,15,30}Minutes`,
///   `LambdaLinear10PercentEvery{1,2,3,10}Minute(s)`). A canary or linear strategy of 100% is a
///   single shift to 100%, the same plan as `allAtOnce` (``Strategy/steps()``), so it gets
///   `LambdaAllAtOnce` too.
/// - Anything else is a custom config with a deterministic name, `rolloutd-canary-25pct-2min`
///   or `rolloutd-linear-20pct-3min`, which never starts with the reserved `CodeDeployDefault.`.
///
/// CodeDeploy counts in whole minutes and whole percentages, at most 99% in one increment and
/// at most 2880 minutes between the first and the last shift: anything else is InvalidParams
/// naming `strategy.intervalSeconds` or `strategy.percent`.
public enum DeploymentConfigChoice: Sendable, Hashable {
    /// A `CodeDeployDefault.Lambda*` config, which always exists.
    case predefined(name: String)
    /// A config rolloutd creates when it is missing.
    case custom(name: String, trafficRouting: TrafficRouting)

    /// The reserved prefix of AWS's own configs.
    public static let predefinedPrefix = "CodeDeployDefault."
    /// The prefix of rolloutd's custom configs.
    public static let customPrefix = "rolloutd-"
    /// CodeDeploy's limit on the time between the first and the last shift.
    public static let maxShiftMinutes = 2880

    /// The predefined Lambda configs by their traffic routing (AWS-UG `deployment-configurations.md`).
    static let predefinedConfigs: [TrafficRouting: String] = [
        .allAtOnce: "CodeDeployDefault.LambdaAllAtOnce",
        .timeBasedCanary(percent: 10, intervalMinutes: 5): "CodeDeployDefault.LambdaCanary10Percent5Minutes",
        .timeBasedCanary(percent: 10, intervalMinutes: 10): "CodeDeployDefault.LambdaCanary10Percent10Minutes",
        .timeBasedCanary(percent: 10, intervalMinutes: 15): "CodeDeployDefault.LambdaCanary10Percent15Minutes",
        .timeBasedCanary(percent: 10, intervalMinutes: 30): "CodeDeployDefault.LambdaCanary10Percent30Minutes",
        .timeBasedLinear(percent: 10, intervalMinutes: 1): "CodeDeployDefault.LambdaLinear10PercentEvery1Minute",
        .timeBasedLinear(percent: 10, intervalMinutes: 2): "CodeDeployDefault.LambdaLinear10PercentEvery2Minutes",
        .timeBasedLinear(percent: 10, intervalMinutes: 3): "CodeDeployDefault.LambdaLinear10PercentEvery3Minutes",
        .timeBasedLinear(percent: 10, intervalMinutes: 10): "CodeDeployDefault.LambdaLinear10PercentEvery10Minutes",
    ]

    /// The config name passed as `deploymentConfigName`.
    public var name: String {
        switch self {
        case .predefined(let name), .custom(let name, _): name
        }
    }

    /// The config for `strategy`. Throws InvalidParams naming the field when the strategy is
    /// invalid (``Strategy/steps()``) or does not fit CodeDeploy's whole minutes, whole
    /// percentages and quotas.
    public static func choose(for strategy: Strategy) throws(RolloutError) -> DeploymentConfigChoice {
        let steps = try strategy.steps()
        let routing: TrafficRouting
        switch strategy {
        case .allAtOnce:
            routing = .allAtOnce
        case .canary(let percent, let interval), .linear(let percent, let interval):
            if steps.count == 1 {
                routing = .allAtOnce
                break
            }
            guard interval % 60 == 0 else {
                throw RolloutError.invalidParams(
                    "strategy.intervalSeconds must be a multiple of 60 for the codedeploy engine (CodeDeploy counts whole minutes), got \(interval)"
                )
            }
            guard percent == percent.rounded(), percent >= 1, percent <= 99 else {
                throw RolloutError.invalidParams(
                    "strategy.percent must be a whole number from 1 to 99 for the codedeploy engine, got \(percent)"
                )
            }
            let totalMinutes = (steps.last?.atSeconds ?? 0) / 60
            guard totalMinutes <= maxShiftMinutes else {
                throw RolloutError.invalidParams(
                    "strategy.intervalSeconds: CodeDeploy allows at most \(maxShiftMinutes) minutes between the first and the last shift; this strategy takes \(totalMinutes)"
                )
            }
            let minutes = interval / 60
            if case .canary = strategy {
                routing = .timeBasedCanary(percent: Int(percent), intervalMinutes: minutes)
            } else {
                routing = .timeBasedLinear(percent: Int(percent), intervalMinutes: minutes)
            }
        }
        if let name = predefinedConfigs[routing] { return .predefined(name: name) }
        return .custom(name: customName(for: routing), trafficRouting: routing)
    }

    /// `rolloutd-canary-<percent>pct-<minutes>min` or `rolloutd-linear-<percent>pct-<minutes>min`.
    static func customName(for routing: TrafficRouting) -> String {
        switch routing {
        case .allAtOnce: "\(customPrefix)all-at-once"
        case .timeBasedCanary(let percent, let minutes): "\(customPrefix)canary-\(percent)pct-\(minutes)min"
        case .timeBasedLinear(let percent, let minutes): "\(customPrefix)linear-\(percent)pct-\(minutes)min"
        }
    }
}
