/// `sys.ping`: the cheapest call, for keepalive and latency benchmarks.
public enum Ping: RPCMethod {
    public static let name = "sys.ping"
    public typealias Params = NoParams
    public typealias Result = EmptyResult
}
