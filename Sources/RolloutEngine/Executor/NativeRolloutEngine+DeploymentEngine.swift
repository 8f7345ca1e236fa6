public import RolloutCore

extension NativeRolloutEngine: DeploymentEngine {
    /// `.native`.
    public nonisolated var kind: RolloutEngineKind { .native }

    /// See ``DeploymentEngine/validate(_:starting:)``: the state machine checks the strategy
    /// when the deployment starts.
    public nonisolated func validate(_ request: RolloutRequest, starting: Bool) throws(RolloutError) {}

    /// See ``DeploymentEngine/startedBefore(_:request:)``: the record saved under the id
    /// derived from the call (it is saved before the alias is touched, and the deployment is
    /// resumed at startup).
    public func startedBefore(_ call: IdempotentCall, request: RolloutRequest) async throws(RolloutError) -> String? {
        let deploymentId = Self.deploymentId(for: call)
        return try await dependencies.store.load(deploymentId) == nil ? nil : deploymentId
    }

    /// See ``DeploymentEngine/start(_:fromVersion:toVersion:revisionId:call:)``.
    public func start(
        _ request: RolloutRequest, fromVersion: String, toVersion: String, revisionId: String?, call: IdempotentCall?
    ) async throws(RolloutError) -> (deploymentId: String, status: DeploymentStatus) {
        try await start(
            request, fromVersion: fromVersion, toVersion: toVersion, revisionId: revisionId, deploymentId: call.map(Self.deploymentId(for:))
        )
    }

    /// See ``DeploymentEngine/isActive(_:)``: a native deployment holds its alias until its
    /// record is terminal.
    public func isActive(_ record: RolloutRecord) async throws(RolloutError) -> Bool {
        true
    }

    /// See ``DeploymentEngine/wait(for:timeoutSeconds:onEvent:)``.
    public nonisolated func wait(
        for record: RolloutRecord, timeoutSeconds: Double?, onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment {
        try await wait(record.deploymentId, timeoutSeconds: timeoutSeconds, onEvent: onEvent)
    }

    /// See ``DeploymentEngine/apply(_:to:)``.
    public func apply(_ command: DeploymentCommand, to record: RolloutRecord) async throws(RolloutError) -> DeploymentStatus {
        switch command {
        case .stop: try await stop(record.deploymentId)
        case .promote: try await promote(record.deploymentId)
        case .pause: try await pause(record.deploymentId)
        case .resume: try await resume(record.deploymentId)
        }
    }

    /// See ``DeploymentEngine/reportHook(succeeded:executionId:for:)``: PreconditionFailed, as
    /// native hooks report through their return value.
    public func reportHook(succeeded: Bool, executionId: String?, for record: RolloutRecord) async throws(RolloutError) {
        throw RolloutError(
            .preconditionFailed,
            "deployment \(record.deploymentId) runs on the native engine, whose hooks report through their return value (status \"Failed\" fails them)"
        )
    }
}
