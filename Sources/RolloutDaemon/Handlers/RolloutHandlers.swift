import RolloutCore
import RolloutEngine
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
        registry.register(RolloutPlan.self) { request, _ in
            try await health.track(.rollout) { try await rollouts.plan(request) }
        }
        registry.register(RolloutStart.self) { request, _ in
            try await health.track(.rollout) {
                let started = try await rollouts.start(request, call: IdempotentCall.current(for: RolloutStart.name))
                return RolloutStatusResult(deploymentId: started.deploymentId, status: started.status)
            }
        }
        registry.register(RolloutGet.self) { params, _ in
            try await rollouts.deployment(params.deploymentId)
        }
        registry.register(RolloutWait.self) { params, context in
            if let timeout = params.timeoutSeconds, !(timeout > 0 && timeout.isFinite) {
                throw RolloutError.invalidParams("param 'timeoutSeconds' must be a positive number (got \(timeout))")
            }
            let progress = context.progress
            return try await rollouts.wait(params.deploymentId, timeoutSeconds: params.timeoutSeconds) { event, deployment in
                guard progress.isActive, let encoded = try? JSONValueEncoder().encode(event) else { return }
                var fields: JSONObject = [
                    "event": encoded, "status": .string(deployment.status.rawValue),
                    "weight": .number(JSONNumber(deployment.weight)),
                ]
                fields["nextStepAt"] = deployment.nextStepAt.map(JSONValue.string)
                progress.report(fields, coalescible: false)
            }
        }
        @Sendable func apply(_ command: DeploymentCommand, _ deploymentId: String) async throws(RolloutError) -> RolloutStatusResult {
            RolloutStatusResult(deploymentId: deploymentId, status: try await rollouts.apply(command, to: deploymentId))
        }
        registry.register(RolloutStop.self) { params, _ in
            try await health.track(.rollout) { try await apply(.stop, params.deploymentId) }
        }
        registry.register(RolloutPromote.self) { params, _ in
            try await health.track(.rollout) { try await apply(.promote, params.deploymentId) }
        }
        registry.register(RolloutPause.self) { params, _ in
            try await apply(.pause, params.deploymentId)
        }
        registry.register(RolloutResume.self) { params, _ in
            try await apply(.resume, params.deploymentId)
        }
        registry.register(RolloutList.self) { params, _ in
            RolloutList.Result(deployments: try await rollouts.list(function: params.function, alias: params.alias, status: params.status))
        }
        registry.register(RolloutReportHook.self) { params, _ in
            try await health.track(.rollout) {
                try await rollouts.reportHook(params.deploymentId, succeeded: params.status == .succeeded, executionId: params.executionId)
            }
            return EmptyResult()
        }
    }
}
