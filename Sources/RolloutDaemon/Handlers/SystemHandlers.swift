import RolloutCore
import RolloutRPC

extension Services {
    func registerSystem(into registry: inout MethodRegistry) {
        registry.register(Ping.self) { _, _ in EmptyResult() }
        let document = openRPCDocument
        registry.register(Discover.self) { _, _ in try document() }
        registry.register(Health.self) { _, _ in await healthReport() }
    }

    /// The report; while AWS credentials cannot be had, every capability that signs its calls
    /// carries the credential chain's error and the status is `degraded`; a problem a
    /// capability lives with while it serves (a secrets file that became invalid) shows too.
    func healthReport() async -> Health.Result {
        let credentials = await credentialStatus()
        health.updateCredentialError(credentials?.error)
        let secretsProblem = await secrets?.healthProblem()
        func lastError(_ name: HealthBoard.Capability) -> String? {
            (name.needsCredentials ? credentials?.error?.description : nil) ?? health.lastError(name)
                ?? (name == .secrets ? secretsProblem : nil)
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
            rollout: capability(.rollout, available: rollouts != nil),
            fleet: await fleet?.health()
        )
        let degraded = [capabilities.objectStore, capabilities.queue, capabilities.secrets, capabilities.compute, capabilities.rollout]
            .contains { $0.lastError != nil }
        let uptime = ContinuousClock.now - startedAt
        return Health.Result(
            status: degraded ? "degraded" : "ok", version: version, provider: provider.rawValue,
            uptimeMs: uptime.components.seconds * 1000 + uptime.components.attoseconds / 1_000_000_000_000_000,
            capabilities: capabilities,
            credentials: credentials?.source.map { source in
                Health.Credentials(source: source, expiresAt: credentials?.expiresAt.map(Timestamp.rfc3339))
            }
        )
    }
}
