import RolloutCore
import RolloutRPC

extension Services {
    func registerRollouts(into registry: inout MethodRegistry) {
        let provider = self.provider
        func unsupported<M: RPCMethod>(_ method: M.Type) {
            registry.register(M.self) { _, _ in
                throw RolloutError.unsupported(
                    "\(M.name) needs provider \"aws\" (Lambda traffic shifting); the \"\(provider.rawValue)\" provider has no rollouts"
                )
            }
        }
        unsupported(RolloutPlan.self)
        unsupported(RolloutStart.self)
        unsupported(RolloutGet.self)
        unsupported(RolloutWait.self)
        unsupported(RolloutStop.self)
        unsupported(RolloutPromote.self)
        unsupported(RolloutPause.self)
        unsupported(RolloutResume.self)
        unsupported(RolloutList.self)
        unsupported(RolloutReportHook.self)
    }
}
