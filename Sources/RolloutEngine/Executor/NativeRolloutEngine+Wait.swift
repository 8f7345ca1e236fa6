public import RolloutCore

extension NativeRolloutEngine {
    /// `rollout.wait`: returns the terminal deployment, calling `onEvent` for every event of the
    /// history (those already recorded first). Past `timeoutSeconds` (default
    /// ``defaultWaitSeconds(_:)``): DeadlineExceeded with the current deployment in
    /// `data.deployment`.
    public nonisolated func wait(
        _ deploymentId: String, timeoutSeconds: Double?,
        onEvent: @escaping @Sendable (Deployment.Event, Deployment) -> Void
    ) async throws(RolloutError) -> Deployment {
        let limit: Double
        if let timeoutSeconds {
            limit = timeoutSeconds
        } else {
            limit = try await defaultWaitSeconds(deploymentId)
        }
        let (current, updates) = try await watch(deploymentId)
        for event in current.events { onEvent(event, current) }
        if current.status.isTerminal { return current }
        let reportedInitially = current.events.count
        enum Outcome: Sendable {
            case terminal(Deployment)
            case streamEnded
            case timedOut
        }
        let outcome: Outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                var reported = reportedInitially
                for await deployment in updates {
                    for event in deployment.events.dropFirst(reported) { onEvent(event, deployment) }
                    reported = max(reported, deployment.events.count)
                    if deployment.status.isTerminal { return .terminal(deployment) }
                }
                return .streamEnded
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64(limit * 1000)))
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
        if case .terminal(let deployment) = outcome { return deployment }
        let now = try await deployment(deploymentId)
        if now.status.isTerminal { return now }
        if Task.isCancelled { throw RolloutError.cancelled }
        if case .streamEnded = outcome {
            throw RolloutError(.unavailable, "the daemon is shutting down; deployment \(deploymentId) resumes when it restarts")
        }
        let encoded = (try? JSONValueEncoder().encode(now)) ?? .null
        throw RolloutError(
            .deadlineExceeded,
            "deployment \(deploymentId) is still \(now.status.rawValue) after \(Self.seconds(limit)) s (weight \(now.weight))",
            data: ["deployment": encoded]
        )
    }

    private nonisolated static func seconds(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(value)
    }
}
