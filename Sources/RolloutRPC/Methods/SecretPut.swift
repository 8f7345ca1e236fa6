public import RolloutCore

/// `secret.put`: always ReadOnly; the SecretStore never writes.
public enum SecretPut: RPCMethod {
    public static let name = "secret.put"
    /// Any params; they are not looked at.
    public typealias Params = JSONObject
    public typealias Result = EmptyResult
}
