import RolloutCore
import RolloutRPC

extension Services {
    func registerCompute(into registry: inout MethodRegistry) {
        let compute = self.compute
        registry.register(ComputeHintMethod.self) { _, _ in
            try await health.track(.compute) { try await compute.hint() }
        }
    }
}
