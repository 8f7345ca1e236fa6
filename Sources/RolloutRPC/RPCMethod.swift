import RolloutCore

/// A JSON-RPC method: its name and its params and result types.
///
/// Every method is one type in its own file under `Methods/`, listed once in
/// ``RPCMethods/all`` and described in `proto-json/rollout.openrpc.json`.
public protocol RPCMethod: Sendable {
    /// Params, decoded by name from the request's `params` object.
    associatedtype Params: Codable & Sendable
    /// The result sent back.
    associatedtype Result: Codable & Sendable
    /// The wire name, e.g. `object.put`.
    static var name: String { get }
    /// Whether the method mutates state and so accepts `idempotencyKey` (SPEC §3.2).
    static var isMutating: Bool { get }
    /// Whether the method reports `$/progress` when given a `progressToken`.
    static var reportsProgress: Bool { get }
    /// Whether a non-mutating method takes `idempotencyKey` and ignores it (`rollout.plan`
    /// takes `rollout.start`'s params unchanged).
    static var ignoresIdempotencyKey: Bool { get }
}

extension RPCMethod {
    /// Most methods do not mutate.
    public static var isMutating: Bool { false }
    /// Most methods report no progress.
    public static var reportsProgress: Bool { false }
    /// Non-mutating methods refuse `idempotencyKey` unless they say otherwise.
    public static var ignoresIdempotencyKey: Bool { false }
}

/// Params of methods that take none.
public struct NoParams: Codable, Sendable, Hashable {
    /// Creates empty params.
    public init() {}
}

/// An empty result object `{}`.
public struct EmptyResult: Codable, Sendable, Hashable {
    /// Creates an empty result.
    public init() {}
}
