public import RolloutCore
import Synchronization

/// `compute.hint` from EC2 instance metadata, IMDSv2 only (SPEC §4.5).
///
/// Static facts (region, zone, id, type, lifecycle) are read once and kept; the spot
/// interruption notice and the rebalance recommendation are read on every call. Off EC2 (IMDS
/// disabled or unreachable within its 1 s connect timeout) the answer is the `fallback`'s
/// local facts with `source: "local"` — not an error — and IMDS is not asked again for a minute.
public final class IMDSComputeHint: ComputeHintProvider {
    private struct StaticFacts: Sendable {
        var region: String?
        var availabilityZone: String?
        var instanceId: String?
        var instanceType: String?
        var lifecycle: String?
    }

    private let session: IMDSSession?
    private let fallback: any ComputeHintProvider
    private let now: @Sendable () -> Double
    private let facts = Mutex<StaticFacts?>(nil)
    private let unreachableUntil = Mutex<Double>(0)

    /// Creates the provider; `session` nil means IMDS is disabled (`AWS_EC2_METADATA_DISABLED`).
    public init(session: IMDSSession?, fallback: any ComputeHintProvider, now: @escaping @Sendable () -> Double) {
        self.session = session
        self.fallback = fallback
        self.now = now
    }

    /// See ``ComputeHintProvider/hint()``.
    public func hint() async throws -> ComputeHint {
        var local = try await fallback.hint()
        local.provider = "aws"
        guard let session, unreachableUntil.withLock({ $0 }) <= now() else { return local }
        do {
            let facts = try await staticFacts(session)
            var hint = local
            hint.source = "imdsv2"
            hint.region = facts.region
            hint.availabilityZone = facts.availabilityZone
            hint.instanceId = facts.instanceId
            hint.instanceType = facts.instanceType
            hint.lifecycle = facts.lifecycle
            if let action = try await json(session, "/latest/meta-data/spot/instance-action"),
                let kind = action["action"]?.stringValue, let time = action["time"]?.stringValue
            {
                hint.interruption = SpotInterruption(action: kind, time: time)
            }
            if let rebalance = try await json(session, "/latest/meta-data/events/recommendations/rebalance") {
                hint.rebalanceRecommendedAt = rebalance["noticeTime"]?.stringValue
            }
            return hint
        } catch {
            unreachableUntil.withLock { $0 = now() + 60 }
            return local
        }
    }

    private func staticFacts(_ session: IMDSSession) async throws -> StaticFacts {
        if let known = facts.withLock({ $0 }) { return known }
        let lifecycle = try await text(session, "/latest/meta-data/instance-life-cycle")
        let learned = StaticFacts(
            region: try await text(session, "/latest/meta-data/placement/region"),
            availabilityZone: try await text(session, "/latest/meta-data/placement/availability-zone"),
            instanceId: try await text(session, "/latest/meta-data/instance-id"),
            instanceType: try await text(session, "/latest/meta-data/instance-type"),
            lifecycle: lifecycle.map { $0 == "spot" ? "spot" : "on-demand" }
        )
        facts.withLock { $0 = learned }
        return learned
    }

    /// The body of `path`, nil on 404; other failures throw.
    private func text(_ session: IMDSSession, _ path: String) async throws -> String? {
        let (status, body) = try await session.get(path)
        switch status {
        case 200: return String(decoding: body, as: UTF8.self)
        case 404: return nil
        default: throw RolloutError(.unavailable, "IMDS answered \(status) for \(path)")
        }
    }

    /// An optional notice: absent on 404, and also on other statuses (IMDS emulators answer
    /// 500 for paths they do not model) — a missing notice must not hide the static facts.
    private func json(_ session: IMDSSession, _ path: String) async throws -> JSONValue? {
        let (status, body) = try await session.get(path)
        guard status == 200 else { return nil }
        return try? JSONParser.parse(body)
    }
}
