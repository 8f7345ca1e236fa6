public import RolloutAWS
public import RolloutCore

/// The fleet table itself: creating it (`rolloutctl fleet init`) and checking it at startup.
public enum FleetTable {
    /// What ``ensure(_:table:pollInterval:timeout:)`` did.
    public struct Setup: Sendable, Hashable {
        /// The table.
        public var table: String
        /// Whether this call created it (false: it existed).
        public var created: Bool
        /// Whether this call turned TTL on.
        public var enabledTTL: Bool
    }

    /// The IAM actions fleet mode needs on the table (`arn:aws:dynamodb:<region>:<account>:table/<table>`):
    /// the daemon's, then those only `rolloutctl fleet init` uses.
    public static let daemonIAMActions = [
        "dynamodb:DescribeTable", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
        "dynamodb:Query", "dynamodb:ConditionCheckItem",
    ]
    /// The actions `rolloutctl fleet init` needs besides ``daemonIAMActions``.
    public static let initIAMActions = ["dynamodb:CreateTable", "dynamodb:DescribeTimeToLive", "dynamodb:UpdateTimeToLive"]

    /// Creates `table` if it is missing (partition key `pk`, sort key `sk`, both strings;
    /// on-demand capacity), waits until it is `ACTIVE`, checks its key schema and turns TTL on
    /// (`purgeAt`). Idempotent.
    ///
    /// - Throws: ConfigInvalid when an existing table has another key schema; Unavailable when
    ///   it is not active within `timeout`.
    public static func ensure(
        _ dynamoDB: DynamoDBClient, table: String, pollInterval: Duration = .seconds(2), timeout: Duration = .seconds(120)
    ) async throws(RolloutError) -> Setup {
        let created: Bool = switch try await dynamoDB.createTable(table, partitionKey: FleetItems.partitionKey, sortKey: FleetItems.sortKey) {
        case .created: true
        case .alreadyExists: false
        }
        let clock = ContinuousClock()
        let deadline = clock.now + timeout
        while true {
            guard let description = try await dynamoDB.describeTable(table) else {
                throw RolloutError(.unavailable, "the DynamoDB table \(table) was created but cannot be described yet; run fleet init again")
            }
            try check(description)
            if description.status == "ACTIVE" { break }
            guard clock.now < deadline else {
                throw RolloutError(.unavailable, "the DynamoDB table \(table) is still \(description.status) after \(timeout); run fleet init again")
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                throw .cancelled
            }
        }
        var enabledTTL = false
        switch try await dynamoDB.timeToLiveAttribute(table) {
        case FleetItems.purgeAt?:
            break
        case let other?:
            throw RolloutError(
                .configInvalid, "the DynamoDB table \(table) has TTL on attribute \(other); fleet mode expires items through \(FleetItems.purgeAt)"
            )
        case nil:
            try await dynamoDB.updateTimeToLive(table, attribute: FleetItems.purgeAt)
            enabledTTL = true
        }
        return Setup(table: table, created: created, enabledTTL: enabledTTL)
    }

    /// The startup check of a daemon in fleet mode (SPEC §11): the table exists and has the
    /// fleet's key schema. One DescribeTable.
    ///
    /// - Throws: ConfigInvalid naming the table when it is missing or has another key schema.
    public static func verify(_ dynamoDB: DynamoDBClient, table: String) async throws(RolloutError) {
        guard let description = try await dynamoDB.describeTable(table) else {
            throw RolloutError(
                .configInvalid,
                "the fleet table \(table) does not exist (fleet.table); create it with: rolloutctl fleet init --table \(table)",
                data: ["table": .string(table)]
            )
        }
        try check(description)
    }

    /// ConfigInvalid unless the key schema is `pk` (HASH, S) and `sk` (RANGE, S).
    static func check(_ description: TableDescription) throws(RolloutError) {
        let expected = [
            TableDescription.KeyAttribute(name: FleetItems.partitionKey, keyType: "HASH", attributeType: "S"),
            TableDescription.KeyAttribute(name: FleetItems.sortKey, keyType: "RANGE", attributeType: "S"),
        ]
        guard Set(description.key) == Set(expected), description.key.count == 2 else {
            let found = description.key.map { "\($0.name) (\($0.keyType), \($0.attributeType))" }.joined(separator: ", ")
            throw RolloutError(
                .configInvalid,
                "the fleet table \(description.name) has the key schema \(found); fleet mode needs pk (HASH, S) and sk (RANGE, S): use another table (fleet.table)",
                data: ["table": .string(description.name)]
            )
        }
    }
}
