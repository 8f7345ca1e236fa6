import RolloutRPC

extension Services {
    /// Why `/readyz` should fail, from `sys.health`: nil while its status is `ok`, else
    /// `degraded` with each failing capability's last error.
    func readinessProblem() async -> String? {
        let report = await healthReport()
        guard report.status != "ok" else { return nil }
        let capabilities = report.capabilities
        let failing = [
            ("objectStore", capabilities.objectStore), ("queue", capabilities.queue), ("secrets", capabilities.secrets),
            ("compute", capabilities.compute), ("rollout", capabilities.rollout),
        ].compactMap { name, capability in capability.lastError.map { "\(name): \($0)" } }
        return ([report.status] + failing).joined(separator: "; ")
    }
}
