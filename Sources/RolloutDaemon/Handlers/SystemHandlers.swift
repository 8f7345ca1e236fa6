import RolloutCore
import RolloutRPC

extension Services {
    func registerSystem(into registry: inout MethodRegistry) {
        registry.register(Ping.self) { _, _ in EmptyResult() }
        let document = openRPCDocument
        registry.register(Discover.self) { _, _ in document }
        registry.register(Health.self) { _, _ in await healthReport() }
    }

    func healthReport() async -> Health.Result {
        // A problem a capability lives with while it serves (a secrets file that became invalid).
        let secretsProblem = await secrets?.healthProblem()
        func lastError(_ name: HealthBoard.Capability) -> String? {
            health.lastError(name) ?? (name == .secrets ? secretsProblem : nil)
        }
        func capability(_ name: HealthBoard.Capability, available: Bool) -> Health.Capability {
            guard available else {
                return Health.Capability(ok: false, lastError: nil, detail: "not available with provider \(provider.rawValue)")
            }
            let problem = lastError(name)
            return Health.Capability(ok: problem == nil, lastError: problem, detail: health.details[name.rawValue])
        }
        let capabilities = Health.Capabilities(
            objectStore: capability(.objectStore, available: objects != nil),
            queue: capability(.queue, available: queue != nil),
            secrets: capability(.secrets, available: secrets != nil),
            compute: capability(.compute, available: true),
            rollout: capability(.rollout, available: rollouts != nil)
        )
        let degraded = HealthBoard.Capability.allCases.contains { lastError($0) != nil }
        let uptime = ContinuousClock.now - startedAt
        return Health.Result(
            status: degraded ? "degraded" : "ok", version: version, provider: provider.rawValue,
            uptimeMs: uptime.components.seconds * 1000 + uptime.components.attoseconds / 1_000_000_000_000_000,
            capabilities: capabilities,
            credentials: credentialStatus().map { status in
                Health.Credentials(source: status.source, expiresAt: status.expiresAt.map(Timestamp.rfc3339))
            }
        )
    }
}
