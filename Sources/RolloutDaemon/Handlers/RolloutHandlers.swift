import RolloutCore
import RolloutRPC

extension Services {
    func registerRollouts(into registry: inout MethodRegistry) {
        let rollouts = self.rollouts
        let provider = self.provider
        let health = self.health
        @Sendable func service() throws(RolloutError) -> any RolloutService {
            guard let rollouts else {
                throw RolloutError.unsupported(
                    provider == .aws
                        ? "rollouts need Lambda: no region is configured for it ([cloud] region or AWS_REGION)"
                        : "rollout.* needs provider \"aws\" (Lambda traffic shifting); the \"\(provider.rawValue)\" provider has no rollouts"
                )
            }
            return rollouts
        }
        registry.register(RolloutPlan.self) { request, _ in
            try await health.track(.rollout) { try await service().plan(request) }
        }
        registry.register(RolloutStart.self) { request, _ in
            try await health.track(.rollout) { try await service().start(request) }
        }
        registry.register(RolloutGet.self) { params, _ in
            try await service().deployment(params.deploymentId)
        }
        registry.register(RolloutWait.self) { params, context in
            if let timeout = params.timeoutSeconds, !(timeout > 0 && timeout.isFinite) {
                throw RolloutError.invalidParams("param 'timeoutSeconds' must be a positive number (got \(timeout))")
            }
            let progress = context.progress
            return try await service().wait(params.deploymentId, timeoutSeconds: params.timeoutSeconds) { event, deployment in
                guard progress.isActive, let encoded = try? JSONValueEncoder().encode(event) else { return }
                progress.report(
                    [
                        "event": encoded, "status": .string(deployment.status.rawValue),
                        "weight": .number(JSONNumber(deployment.weight)),
                    ],
                    coalescible: false
                )
            }
        }
        registry.register(RolloutStop.self) { params, _ in
            try await health.track(.rollout) { try await service().stop(params.deploymentId) }
        }
        registry.register(RolloutPromote.self) { params, _ in
            try await health.track(.rollout) { try await service().promote(params.deploymentId) }
        }
        registry.register(RolloutPause.self) { params, _ in
            try await service().pause(params.deploymentId)
        }
        registry.register(RolloutResume.self) { params, _ in
            try await service().resume(params.deploymentId)
        }
        registry.register(RolloutList.self) { params, _ in
            RolloutList.Result(deployments: try await service().list(params))
        }
        registry.register(RolloutReportHook.self) { params, _ in
            try await health.track(.rollout) { try await service().reportHook(params) }
            return EmptyResult()
        }
    }
}
