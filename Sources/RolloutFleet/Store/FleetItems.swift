import RolloutAWS

/// The item layout of the fleet table (partition key `pk`, sort key `sk`, both strings;
/// `purgeAt`, epoch seconds, is the TTL attribute). `docs/fleet.md` explains it.
///
/// | pk | sk | what |
/// |---|---|---|
/// | `FLEET#ACTIVE` | `ALIAS#<function>#<alias>` | the alias claim and the lease of its one active deployment (a CodeDeploy deployment's claim has no lease) |
/// | `DEP#<id>` | `STATE` | the deployment record (opaque JSON), its status and the epoch that wrote it |
/// | `DEP#<id>` | `CMD#<commandId>` | a command for the owner (stop, promote, ...) until it is applied |
/// | `DEP#<id>` | `OUTBOX#<event>` | one notification: claimed before publishing, sent after |
/// | `IDEM#<method>#<key>` | `RECORD` | a fleet-wide idempotency record |
/// | `FLEET#RECENT` | `<startedAt ms, 15 digits>#<id>` | one per deployment started, for `rollout.list` |
///
/// Active deployments are listed from the well-known partition `FLEET#ACTIVE` (one Query,
/// no GSI): its items are small and few (one per alias being deployed), so one partition
/// serves a fleet with hundreds of active deployments.
enum FleetItems {
    static let partitionKey = "pk"
    static let sortKey = "sk"
    /// The TTL attribute: DynamoDB deletes an item some time after this instant (epoch seconds).
    static let purgeAt = "purgeAt"

    static let activePartition = "FLEET#ACTIVE"
    static let aliasPrefix = "ALIAS#"
    static let recentPartition = "FLEET#RECENT"
    static let stateSort = "STATE"
    static let commandPrefix = "CMD#"
    static let outboxPrefix = "OUTBOX#"
    static let idempotencySort = "RECORD"

    static func key(_ pk: String, _ sk: String) -> DynamoDBItem {
        [partitionKey: .s(pk), sortKey: .s(sk)]
    }

    static func leaseKey(functionName: String, alias: String) -> DynamoDBItem {
        key(activePartition, "\(aliasPrefix)\(functionName)#\(alias)")
    }

    /// Sorts by start time (zero-padded milliseconds), so a descending Query lists the newest first.
    static func recentKey(startedAtMs: Int64, deploymentId: String) -> DynamoDBItem {
        let digits = String(startedAtMs)
        return key(recentPartition, String(repeating: "0", count: max(0, 15 - digits.count)) + digits + "#" + deploymentId)
    }

    static func deploymentPartition(_ deploymentId: String) -> String {
        "DEP#\(deploymentId)"
    }

    static func stateKey(_ deploymentId: String) -> DynamoDBItem {
        key(deploymentPartition(deploymentId), stateSort)
    }

    static func commandKey(_ deploymentId: String, _ commandId: String) -> DynamoDBItem {
        key(deploymentPartition(deploymentId), commandPrefix + commandId)
    }

    static func outboxKey(_ deploymentId: String, _ event: String) -> DynamoDBItem {
        key(deploymentPartition(deploymentId), outboxPrefix + event)
    }

    static func idempotencyKey(method: String, key idempotencyKey: String) -> DynamoDBItem {
        key("IDEM#\(method)#\(idempotencyKey)", idempotencySort)
    }
}

/// Attribute names of the items.
enum FleetAttribute {
    static let deploymentId = "deploymentId"
    static let functionName = "functionName"
    static let alias = "alias"
    static let owner = "owner"
    static let epoch = "epoch"
    static let rvn = "rvn"
    static let leaseMs = "leaseMs"
    static let expiresAt = "expiresAt"
    static let startedAt = "startedAt"
    static let status = "status"
    static let record = "record"
    static let writer = "writer"
    static let updatedAt = "updatedAt"
    static let command = "command"
    static let payload = "payload"
    static let from = "from"
    static let createdAt = "createdAt"
    static let event = "event"
    static let state = "state"
    static let claimedBy = "claimedBy"
    static let claimEpoch = "claimEpoch"
    static let messageId = "messageId"
    static let fingerprint = "fingerprint"
    static let token = "token"
    /// Changed by the node running a keyed call every lease/3: unchanged for a whole lease, the
    /// node is gone (read like a lease's record version number, on the waiter's own clock).
    static let beat = "beat"
    static let node = "node"
    static let result = "result"
    /// On a claim without a lease (``FleetStore/claim(_:engine:)``): the engine that keeps its state.
    static let engine = "engine"
}
