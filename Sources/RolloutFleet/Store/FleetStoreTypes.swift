public import RolloutCore

/// A deployment about to start in fleet mode.
public struct NewFleetDeployment: Sendable, Hashable {
    /// The deployment id.
    public var deploymentId: String
    /// The Lambda function (as the engine normalises it: one spelling per function).
    public var functionName: String
    /// The alias.
    public var alias: String
    /// The engine's record, opaque to the store (at most ~350 KB serialized).
    public var record: JSONValue
    /// The status shown by list and get.
    public var status: String

    /// A deployment from its parts.
    public init(deploymentId: String, functionName: String, alias: String, record: JSONValue, status: String) {
        self.deploymentId = deploymentId
        self.functionName = functionName
        self.alias = alias
        self.record = record
        self.status = status
    }
}

/// The stored state of a deployment (`DEP#<id>` / `STATE`).
public struct FleetDeploymentRecord: Sendable, Hashable {
    /// The deployment id.
    public var deploymentId: String
    /// The function.
    public var functionName: String
    /// The alias.
    public var alias: String
    /// The engine's record.
    public var record: JSONValue
    /// The status.
    public var status: String
    /// The lease epoch under which the record was last written.
    public var epoch: Int64
    /// The node that wrote it.
    public var writer: String
    /// When it was written (writer's wall clock, ms since the Unix epoch).
    public var updatedAtMs: Int64
    /// Whether the deployment finished (its record then expires through TTL).
    public var isFinished: Bool
}

/// How ``FleetStore/start(_:)`` ended.
public enum FleetStartResult: Sendable, Hashable {
    /// Claimed: this node owns the new deployment under `lease` (epoch 1).
    case started(FleetLease)
    /// Another deployment is active on the alias (SPEC §11: Conflict with `data.activeDeploymentId`).
    case conflict(activeDeploymentId: String)
}

/// How a write conditional on holding the lease ended.
public enum FleetFenceResult: Sendable, Hashable {
    /// Written while this node held the lease (`lease`, with a fresh RVN after a renewal).
    case held(FleetLease)
    /// The lease is another's (or gone): stop driving the deployment. The lease as it is now,
    /// when there is one.
    case lost(current: FleetLease?)
}

/// How ``FleetStore/save(_:record:status:consumingCommands:)`` ended.
public enum FleetSaveResult: Sendable, Hashable {
    /// The record is written (and the commands consumed).
    case saved
    /// The lease is another's: nothing was written.
    case lost
    /// A command to consume is gone (consumed already): nothing was written; re-read them.
    case commandGone(String)
}

/// A command sent to a deployment's owner through the table.
public struct FleetCommand: Sendable, Hashable {
    /// Unique per command (a retry of the same request reuses it).
    public var id: String
    /// `stop`, `promote`, `pause`, `resume`, `reportHook`, ...
    public var name: String
    /// The command's params.
    public var payload: JSONValue
    /// The node that stored it.
    public var from: String
    /// When it was stored (that node's wall clock, ms since the Unix epoch).
    public var createdAtMs: Int64

    /// A command from its parts.
    public init(id: String, name: String, payload: JSONValue, from: String = "", createdAtMs: Int64 = 0) {
        self.id = id
        self.name = name
        self.payload = payload
        self.from = from
        self.createdAtMs = createdAtMs
    }
}

/// How ``FleetStore/claimNotification(_:event:)`` ended.
public enum FleetOutboxClaim: Sendable, Hashable {
    /// This owner may publish now, then ``FleetStore/confirmNotification(_:event:messageId:)``.
    case claimed
    /// Published already (by this node or an earlier owner): do not publish.
    case alreadySent
    /// The lease is another's: do not publish.
    case lost
}

/// How ``FleetStore/beginIdempotent(method:key:fingerprint:)`` ended.
public enum FleetIdempotencyBegin: Sendable, Hashable {
    /// This call runs the operation; finish with the token.
    case run(token: String)
    /// A call with this key finished: replay its result.
    case replay(JSONValue)
    /// A call with this key is running on `node` (or died there); `token` lets a caller that
    /// decides it is dead take it over.
    case inProgress(node: String, token: String, beat: String)
    /// The key was used with other params: Conflict.
    case mismatch
}
