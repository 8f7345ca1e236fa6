/// The one list of every method type. Adding a method = one file in `Methods/`, one line here,
/// and its entry in `proto-json/rollout.openrpc.json`.
public enum RPCMethods {
    /// Every method, in documentation order.
    public static let all: [any RPCMethod.Type] = [
        Discover.self, Health.self, Ping.self,
        ObjectPut.self, ObjectGet.self, ObjectHead.self, ObjectDelete.self, ObjectList.self,
        QueueSend.self, QueueSendBatch.self, QueueReceive.self, QueueAck.self, QueueAckBatch.self,
        QueueNack.self, QueueExtend.self,
        SecretGet.self, SecretPut.self,
        ComputeHintMethod.self,
        RolloutPlan.self, RolloutStart.self, RolloutGet.self, RolloutWait.self, RolloutStop.self,
        RolloutPromote.self, RolloutPause.self, RolloutResume.self, RolloutList.self, RolloutReportHook.self,
    ]
}
