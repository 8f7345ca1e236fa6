import AWSConfig
public import CurlHTTP
public import RolloutCore

/// The rollout engine's alarm polling (SPEC §4.6): CloudWatch `DescribeAlarms` over the Query
/// protocol (Version 2010-08-01) through an ``AWSClient`` for the CloudWatch endpoint.
///
/// Names go out at most 100 per call (`AlarmNames.member.N`, CloudWatch's limit), each call
/// following `NextToken` to its last page, and ask for both metric and composite alarms
/// (without `AlarmTypes` CloudWatch returns metric alarms only).
public struct CloudWatchAlarms: AlarmStateReader {
    /// The API version sent with every call.
    static let version = "2010-08-01"
    /// The most names one `DescribeAlarms` call may carry.
    public static let maxNamesPerCall = 100

    private let client: AWSClient
    private let timeouts: HTTPTimeouts

    /// Reads alarms through `client` (a CloudWatch client); `timeouts` apply per attempt.
    public init(
        client: AWSClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(5), total: .seconds(30), stall: .seconds(15))
    ) {
        self.client = client
        self.timeouts = timeouts
    }

    /// The `StateValue` of each named alarm that exists, metric or composite. Names that do not
    /// exist are absent; an empty list makes no call. InvalidParams for a name that is not
    /// 1–255 characters.
    public func alarmStates(names: [String]) async throws(RolloutError) -> [String: String] {
        var unique: [String] = []
        var seen = Set<String>()
        for (index, name) in names.enumerated() {
            guard (1...255).contains(name.count) else {
                throw .invalidParams("alarms[\(index)] must be a CloudWatch alarm name of 1 to 255 characters")
            }
            if seen.insert(name).inserted { unique.append(name) }
        }
        var states: [String: String] = [:]
        var start = 0
        while start < unique.count {
            let batch = unique[start..<min(start + Self.maxNamesPerCall, unique.count)]
            start += batch.count
            var nextToken: String?
            repeat {
                var params: [(name: String, value: String)] = batch.enumerated().map { offset, name in
                    (name: "AlarmNames.member.\(offset + 1)", value: name)
                }
                params += [
                    (name: "AlarmTypes.member.1", value: "CompositeAlarm"),
                    (name: "AlarmTypes.member.2", value: "MetricAlarm"),
                    (name: "MaxRecords", value: String(Self.maxNamesPerCall)),
                ]
                if let nextToken { params.append((name: "NextToken", value: nextToken)) }
                let root = try await client.queryCallXML(
                    action: "DescribeAlarms", version: Self.version, params: params, timeouts: timeouts
                )
                guard let result = root.firstDescendant("DescribeAlarmsResult") else {
                    throw RolloutError(
                        .unavailable, "CloudWatch DescribeAlarms returned a response without DescribeAlarmsResult",
                        data: ["upstream": .object(["service": .string(client.service.explainKey)])]
                    )
                }
                for list in ["MetricAlarms", "CompositeAlarms"] {
                    for alarm in result.child(list)?.children("member") ?? [] {
                        guard let name = alarm.childText("AlarmName"), let state = alarm.childText("StateValue") else { continue }
                        states[name] = state
                    }
                }
                nextToken = result.childText("NextToken").flatMap { $0.isEmpty ? nil : $0 }
            } while nextToken != nil
        }
        return states
    }
}
