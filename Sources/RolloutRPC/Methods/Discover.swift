public import RolloutCore

/// `rpc.discover`: the OpenRPC document describing every method.
public enum Discover: RPCMethod {
    public static let name = "rpc.discover"
    public typealias Params = NoParams
    /// The OpenRPC 1.3.2 document.
    public typealias Result = JSONValue
}
