public import RolloutCore

/// `compute.hint`: facts about the machine from IMDSv2, or from the OS.
public enum ComputeHintMethod: RPCMethod {
    public static let name = "compute.hint"
    public typealias Params = NoParams
    public typealias Result = ComputeHint
}
