import RolloutCore
import RolloutRPC

/// What the `rollout.*` handlers call. Provider `aws` implements it (``RolloutCoordinator``);
/// the `local` provider has none and the handlers answer Unsupported.
protocol RolloutService: Sendable {
    func plan(_ request: RolloutRequest) async throws(RolloutError) -> RolloutCore.RolloutPlan
    func start(_ request: RolloutRequest) async throws(RolloutError) -> RolloutStatusResult
    func deployment(_ deploymentId: String) async throws(RolloutError) -> Deployment
    func wait(
        _ deploymentId: String, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment
    func stop(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult
    func promote(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult
    func pause(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult
    func resume(_ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult
    func list(_ filter: RolloutList.Params) async throws(RolloutError) -> [Deployment]
    func reportHook(_ params: RolloutReportHook.Params) async throws(RolloutError)
}
