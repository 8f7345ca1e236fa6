import RolloutCore

/// Attribute names and values that expressions refer to (`#owner`, `:me`): DynamoDB's
/// `ExpressionAttributeNames` and `ExpressionAttributeValues`. Many attribute names
/// (`owner`, `status`, `state`, `ttl`, ...) are reserved words, so expressions name every
/// attribute through `#placeholders`.
public struct ExpressionAttributes: Sendable, Hashable {
    /// `#placeholder` → attribute name.
    public var names: [String: String]
    /// `:placeholder` → value.
    public var values: DynamoDBItem

    /// Placeholders from their parts.
    public init(names: [String: String] = [:], values: DynamoDBItem = [:]) {
        self.names = names
        self.values = values
    }

    /// Adds both members to `body` when not empty.
    func encode(into body: inout JSONObject) {
        if !names.isEmpty {
            var object = JSONObject()
            for name in names.keys.sorted() { object[name] = .string(names[name] ?? "") }
            body["ExpressionAttributeNames"] = .object(object)
        }
        if !values.isEmpty { body["ExpressionAttributeValues"] = .object(AttributeValue.json(values)) }
    }
}

/// `PutItem`, also a `Put` action of ``DynamoDBClient/transactWriteItems(_:clientRequestToken:)``.
public struct PutItemRequest: Sendable, Hashable {
    /// The table.
    public var table: String
    /// The whole item, key included.
    public var item: DynamoDBItem
    /// `ConditionExpression`; nil writes unconditionally.
    public var condition: String?
    /// What the condition refers to.
    public var attributes: ExpressionAttributes

    /// A put of `item` into `table`, when `condition` holds.
    public init(table: String, item: DynamoDBItem, condition: String? = nil, attributes: ExpressionAttributes = .init()) {
        self.table = table
        self.item = item
        self.condition = condition
        self.attributes = attributes
    }

    var body: JSONObject {
        var body: JSONObject = ["TableName": .string(table), "Item": .object(AttributeValue.json(item))]
        if let condition { body["ConditionExpression"] = .string(condition) }
        attributes.encode(into: &body)
        return body
    }
}

/// `UpdateItem`, also an `Update` action of a transaction.
public struct UpdateItemRequest: Sendable, Hashable {
    /// The table.
    public var table: String
    /// The item's primary key.
    public var key: DynamoDBItem
    /// `UpdateExpression` (`SET #a = :a REMOVE #b`).
    public var update: String
    /// `ConditionExpression`; nil updates (or creates) unconditionally.
    public var condition: String?
    /// What the expressions refer to.
    public var attributes: ExpressionAttributes
    /// Whether the answer carries the item as it is after the update (`ReturnValues: ALL_NEW`).
    public var returnsNewItem: Bool

    /// An update of the item at `key`.
    public init(
        table: String, key: DynamoDBItem, update: String, condition: String? = nil, attributes: ExpressionAttributes = .init(),
        returnsNewItem: Bool = false
    ) {
        self.table = table
        self.key = key
        self.update = update
        self.condition = condition
        self.attributes = attributes
        self.returnsNewItem = returnsNewItem
    }

    var body: JSONObject {
        var body: JSONObject = [
            "TableName": .string(table), "Key": .object(AttributeValue.json(key)), "UpdateExpression": .string(update),
        ]
        if let condition { body["ConditionExpression"] = .string(condition) }
        attributes.encode(into: &body)
        return body
    }
}

/// `DeleteItem`, also a `Delete` action of a transaction.
public struct DeleteItemRequest: Sendable, Hashable {
    /// The table.
    public var table: String
    /// The item's primary key.
    public var key: DynamoDBItem
    /// `ConditionExpression`; nil deletes unconditionally (deleting nothing is no error).
    public var condition: String?
    /// What the condition refers to.
    public var attributes: ExpressionAttributes
    /// Whether the answer carries the deleted item (`ReturnValues: ALL_OLD`).
    public var returnsOldItem: Bool

    /// A delete of the item at `key`.
    public init(
        table: String, key: DynamoDBItem, condition: String? = nil, attributes: ExpressionAttributes = .init(),
        returnsOldItem: Bool = false
    ) {
        self.table = table
        self.key = key
        self.condition = condition
        self.attributes = attributes
        self.returnsOldItem = returnsOldItem
    }

    var body: JSONObject {
        var body: JSONObject = ["TableName": .string(table), "Key": .object(AttributeValue.json(key))]
        if let condition { body["ConditionExpression"] = .string(condition) }
        attributes.encode(into: &body)
        return body
    }
}

/// A `ConditionCheck` action of a transaction: the transaction commits only if `condition`
/// holds on the item at `key`, which is not written.
public struct ConditionCheckRequest: Sendable, Hashable {
    /// The table.
    public var table: String
    /// The item's primary key.
    public var key: DynamoDBItem
    /// `ConditionExpression`.
    public var condition: String
    /// What the condition refers to.
    public var attributes: ExpressionAttributes

    /// A check of `condition` on the item at `key`.
    public init(table: String, key: DynamoDBItem, condition: String, attributes: ExpressionAttributes = .init()) {
        self.table = table
        self.key = key
        self.condition = condition
        self.attributes = attributes
    }

    var body: JSONObject {
        var body: JSONObject = [
            "TableName": .string(table), "Key": .object(AttributeValue.json(key)), "ConditionExpression": .string(condition),
        ]
        attributes.encode(into: &body)
        return body
    }
}

/// One action of ``DynamoDBClient/transactWriteItems(_:clientRequestToken:)``.
public enum TransactWriteAction: Sendable, Hashable {
    /// `Put`.
    case put(PutItemRequest)
    /// `Update`.
    case update(UpdateItemRequest)
    /// `Delete`.
    case delete(DeleteItemRequest)
    /// `ConditionCheck`.
    case conditionCheck(ConditionCheckRequest)

    /// `{"Put": {...}}` and so on; every action asks for the item that failed its condition.
    var json: JSONValue {
        var (name, body): (String, JSONObject) = switch self {
        case .put(let request): ("Put", request.body)
        case .update(let request): ("Update", request.body)
        case .delete(let request): ("Delete", request.body)
        case .conditionCheck(let request): ("ConditionCheck", request.body)
        }
        body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return .object([name: .object(body)])
    }
}

/// `Query`: the items of one partition, optionally narrowed on the sort key.
public struct QueryRequest: Sendable, Hashable {
    /// The table.
    public var table: String
    /// `IndexName`, to query a secondary index instead of the table.
    public var indexName: String?
    /// `KeyConditionExpression` (`#pk = :pk AND begins_with(#sk, :prefix)`).
    public var keyCondition: String
    /// `FilterExpression`, applied after the read (it does not reduce the capacity used).
    public var filter: String?
    /// What the expressions refer to.
    public var attributes: ExpressionAttributes
    /// `ConsistentRead` (tables only): see every write acknowledged before the read.
    public var consistentRead: Bool
    /// `Limit`: most items evaluated per page.
    public var limit: Int?
    /// `ScanIndexForward: false` when false: descending sort keys.
    public var ascending: Bool
    /// `ExclusiveStartKey`: the previous page's ``QueryPage/lastEvaluatedKey``.
    public var startKey: DynamoDBItem?

    /// A query of `table` on `keyCondition`.
    public init(
        table: String, keyCondition: String, attributes: ExpressionAttributes, filter: String? = nil, indexName: String? = nil,
        consistentRead: Bool = false, limit: Int? = nil, ascending: Bool = true, startKey: DynamoDBItem? = nil
    ) {
        self.table = table
        self.indexName = indexName
        self.keyCondition = keyCondition
        self.filter = filter
        self.attributes = attributes
        self.consistentRead = consistentRead
        self.limit = limit
        self.ascending = ascending
        self.startKey = startKey
    }

    var body: JSONObject {
        var body: JSONObject = ["TableName": .string(table), "KeyConditionExpression": .string(keyCondition)]
        if let indexName { body["IndexName"] = .string(indexName) }
        if let filter { body["FilterExpression"] = .string(filter) }
        attributes.encode(into: &body)
        if consistentRead { body["ConsistentRead"] = true }
        if let limit { body["Limit"] = .number(JSONNumber(limit)) }
        if !ascending { body["ScanIndexForward"] = false }
        if let startKey { body["ExclusiveStartKey"] = .object(AttributeValue.json(startKey)) }
        return body
    }
}

/// One page of a ``QueryRequest``.
public struct QueryPage: Sendable, Hashable {
    /// The items, in sort-key order.
    public var items: [DynamoDBItem]
    /// Where the next page starts; nil on the last page.
    public var lastEvaluatedKey: DynamoDBItem?
}

/// How a conditional write ended. A failed condition is an answer, not an error.
public enum ConditionalWriteResult: Sendable, Hashable {
    /// Written. The item as `ReturnValues` asked for it (after an update with
    /// ``UpdateItemRequest/returnsNewItem``, before a delete with
    /// ``DeleteItemRequest/returnsOldItem``), else nil.
    case written(DynamoDBItem?)
    /// `ConditionalCheckFailedException`: nothing was written. The item that failed the
    /// condition (`ReturnValuesOnConditionCheckFailure: ALL_OLD`), nil when there is none.
    case conditionFailed(DynamoDBItem?)
}

/// Why one action of a cancelled transaction failed: `CancellationReasons[i]`.
public struct CancellationReason: Sendable, Hashable {
    /// `None` (this action was fine), `ConditionalCheckFailed`, `TransactionConflict`,
    /// `ItemCollectionSizeLimitExceeded`, `ThrottlingError`, `ValidationError`, ...
    public var code: String
    /// The service's message.
    public var message: String?
    /// The item as it was, for a failed condition.
    public var item: DynamoDBItem?

    /// A reason from its parts.
    public init(code: String, message: String? = nil, item: DynamoDBItem? = nil) {
        self.code = code
        self.message = message
        self.item = item
    }

    /// Whether this action's condition failed.
    public var isConditionFailure: Bool { code == "ConditionalCheckFailed" }
}

/// How ``DynamoDBClient/transactWriteItems(_:clientRequestToken:)`` ended.
public enum TransactionResult: Sendable, Hashable {
    /// Every action was applied.
    case committed
    /// `TransactionCanceledException`: nothing was applied; one reason per action, in order.
    case cancelled([CancellationReason])
}

/// What ``DynamoDBClient/describeTable(_:)`` reports.
public struct TableDescription: Sendable, Hashable {
    /// A key attribute: its name, its role (`HASH`, `RANGE`) and its type (`S`, `N`, `B`).
    public struct KeyAttribute: Sendable, Hashable {
        /// The attribute name.
        public var name: String
        /// `HASH` or `RANGE`.
        public var keyType: String
        /// `S`, `N` or `B`.
        public var attributeType: String

        /// A key attribute from its parts.
        public init(name: String, keyType: String, attributeType: String) {
            self.name = name
            self.keyType = keyType
            self.attributeType = attributeType
        }
    }

    /// `TableName`.
    public var name: String
    /// `TableStatus`: `CREATING`, `ACTIVE`, `UPDATING`, `DELETING`, ...
    public var status: String
    /// `KeySchema` with each attribute's type from `AttributeDefinitions`.
    public var key: [KeyAttribute]
    /// `BillingModeSummary.BillingMode` (`PAY_PER_REQUEST`, `PROVISIONED`), when reported.
    public var billingMode: String?
}
