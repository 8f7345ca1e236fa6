import RolloutCore
import RolloutRPC

extension Services {
    func registerRollouts(into registry: inout MethodRegistry) {
        guard let rollouts = self.rollouts else {
            let error = RolloutError.unsupported(
                provider == .aws
                    ? "rollouts need Lambda: no region is configured for it ([cloud] region or AWS_REGION)"
                    : "rollout.* needs provider \"aws\" (Lambda traffic shifting); the \"\(provider.rawValue)\" provider has no rollouts"
            )
            registry.registerUnavailable(RolloutPlan.self, error: error)
            registry.registerUnavailable(RolloutStart.self, error: error)
            registry.registerUnavailable(RolloutGet.self, error: error)
            registry.registerUnavailable(RolloutWait.self, error: error)
            registry.registerUnavailable(RolloutStop.self, error: error)
            registry.registerUnavailable(RolloutPromote.self, error: error)
            registry.registerUnavailable(RolloutPause.self, error: error)
            registry.registerUnavailable(RolloutResume.self, error: error)
            registry.registerUnavailable(RolloutList.self, error: error)
            registry.registerUnavailable(RolloutReportHook.self, error: error)
            return
        }
        let health = self.health
        @Sendable func service() -> any RolloutService { rollouts }
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
                var fields: JSONObject = [
                    "event": encoded, "status": .string(deployment.status.rawValue),
                    "weight": .number(JSONNumber(deployment.weight)),
                ]
                fields["nextStepAt"] = deployment.nextStepAt.map(JSONValue.string)
                progress.report(fields, coalescible: false)
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
