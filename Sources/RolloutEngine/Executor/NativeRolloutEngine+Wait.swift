public import RolloutCore

extension NativeRolloutEngine {
    /// How often a waiter reads the store while no run loop of this daemon drives the
    /// deployment (fleet mode: another daemon drives it).
    static let storePollInterval: Duration = .seconds(1)

    /// `rollout.wait`: returns the terminal deployment, calling `onEvent` for every event of the
    /// history (those already recorded first). Past `timeoutSeconds` (default
    /// ``defaultWaitSeconds(_:)``): DeadlineExceeded with the current deployment in
    /// `data.deployment`.
    ///
    /// While this daemon drives the deployment, every state its run loop publishes is seen; when
    /// none of its run loops does (fleet mode: another daemon drives it, or it was adopted or
    /// lost meanwhile), the store is read every second.
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
        enum Outcome: Sendable {
            case terminal(Deployment)
            case shutDown
            case failed(RolloutError)
            case timedOut
        }
        let outcome: Outcome = await withTaskGroup(of: Outcome.self) { group in
            group.addTask {
                var reported = 0
                func report(_ deployment: Deployment) {
                    for event in deployment.events.dropFirst(reported) { onEvent(event, deployment) }
                    reported = max(reported, deployment.events.count)
                }
                while !Task.isCancelled {
                    let current: Deployment
                    let updates: AsyncStream<Deployment>
                    do throws(RolloutError) {
                        (current, updates) = try await self.watch(deploymentId)
                    } catch {
                        return .failed(error)
                    }
                    report(current)
                    if current.status.isTerminal { return .terminal(current) }
                    for await deployment in updates {
                        report(deployment)
                        if deployment.status.isTerminal { return .terminal(deployment) }
                    }
                    if await self.isShutDown { return .shutDown }
                    try? await Task.sleep(for: Self.storePollInterval)
                }
                return .timedOut
            }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(Int64(limit * 1000)))
                return .timedOut
            }
            let first = await group.next() ?? .timedOut
            group.cancelAll()
            return first
        }
        switch outcome {
        case .terminal(let deployment): return deployment
        case .failed(let error): throw error
        case .shutDown, .timedOut: break
        }
        let now = try await deployment(deploymentId)
        if now.status.isTerminal { return now }
        if Task.isCancelled { throw RolloutError.cancelled }
        if case .shutDown = outcome {
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
