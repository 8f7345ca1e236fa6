import AWSConfig
public import CurlHTTP
public import RolloutCore

/// Typed Amazon DynamoDB calls (AWS JSON 1.0, `X-Amz-Target: DynamoDB_20120810.<Op>`, SigV4
/// service `dynamodb`), the subset fleet mode needs. Shapes follow botocore's
/// `dynamodb/2012-08-10/service-2.json`.
///
/// Conditional writes are the consensus primitive, so a failed condition is an answer
/// (``ConditionalWriteResult/conditionFailed(_:)`` with the item that failed it, read through
/// `ReturnValuesOnConditionCheckFailure: ALL_OLD`) and so is a cancelled transaction
/// (``TransactionResult/cancelled(_:)`` with one reason per action). Everything else is a
/// `RolloutError` mapped by ``AWSErrorMapping``: `ResourceNotFoundException` → NotFound;
/// `ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`
/// → retried, then Throttled; `ValidationException` → InvalidParams. The upstream code is in
/// `data.upstream.code`.
///
/// A write retried after a lost response may find its own earlier attempt: the item that
/// failed the condition is then the one this call wrote. Callers that write a fresh token
/// (a record version number) into each item recognise that case.
public struct DynamoDBClient: Sendable {
    /// The JSON target prefix of every operation.
    static let targetPrefix = "DynamoDB_20120810"
    static let conditionFailed = "ConditionalCheckFailedException"
    static let transactionCanceled = "TransactionCanceledException"
    static let resourceInUse = "ResourceInUseException"
    static let resourceNotFound = "ResourceNotFoundException"

    /// The underlying client (service ``AWSService/dynamoDB``).
    public let client: AWSClient
    private let timeouts: HTTPTimeouts

    /// Calls DynamoDB through `client`.
    ///
    /// - Parameter timeouts: per attempt. Lease renewals must finish well within a lease, so
    ///   the default is short.
    public init(
        client: AWSClient,
        timeouts: HTTPTimeouts = HTTPTimeouts(connect: .seconds(3), total: .seconds(10), stall: .seconds(5))
    ) {
        self.client = client
        self.timeouts = timeouts
    }

    // MARK: Tables

    /// How ``createTable(_:partitionKey:sortKey:)`` ended.
    public enum CreateTableResult: Sendable, Hashable {
        /// The table is being created (`CREATING`, or `ACTIVE` on emulators).
        case created(TableDescription)
        /// `ResourceInUseException`: a table of that name exists (its schema unchecked).
        case alreadyExists
    }

    /// `CreateTable` with on-demand capacity (`PAY_PER_REQUEST`) and string keys.
    public func createTable(_ table: String, partitionKey: String, sortKey: String?) async throws(RolloutError) -> CreateTableResult {
        var schema: [JSONValue] = [["AttributeName": .string(partitionKey), "KeyType": "HASH"]]
        var definitions: [JSONValue] = [["AttributeName": .string(partitionKey), "AttributeType": "S"]]
        if let sortKey {
            schema.append(["AttributeName": .string(sortKey), "KeyType": "RANGE"])
            definitions.append(["AttributeName": .string(sortKey), "AttributeType": "S"])
        }
        let body: JSONObject = [
            "TableName": .string(table), "KeySchema": .array(schema), "AttributeDefinitions": .array(definitions),
            "BillingMode": "PAY_PER_REQUEST",
        ]
        switch try await call("CreateTable", body, accepting: [Self.resourceInUse]) {
        case .success(let response):
            guard let description = response["TableDescription"].flatMap(Self.tableDescription) else {
                throw malformed("CreateTable", "no TableDescription")
            }
            return .created(description)
        case .serviceError:
            return .alreadyExists
        }
    }

    /// `DescribeTable`; nil when the table does not exist.
    public func describeTable(_ table: String) async throws(RolloutError) -> TableDescription? {
        switch try await call("DescribeTable", ["TableName": .string(table)], accepting: [Self.resourceNotFound]) {
        case .success(let response):
            guard let description = response["Table"].flatMap(Self.tableDescription) else {
                throw malformed("DescribeTable", "no Table")
            }
            return description
        case .serviceError:
            return nil
        }
    }

    /// `DescribeTimeToLive`: the TTL attribute when TTL is enabled (or being enabled), else nil.
    public func timeToLiveAttribute(_ table: String) async throws(RolloutError) -> String? {
        let response = try await call("DescribeTimeToLive", ["TableName": .string(table)])
        let description = response["TimeToLiveDescription"]
        guard let status = description?["TimeToLiveStatus"]?.stringValue, status == "ENABLED" || status == "ENABLING" else {
            return nil
        }
        return description?["AttributeName"]?.stringValue
    }

    /// `UpdateTimeToLive`: items whose `attribute` (epoch seconds, a number) is in the past
    /// are deleted by DynamoDB, typically within days.
    public func updateTimeToLive(_ table: String, attribute: String, enabled: Bool = true) async throws(RolloutError) {
        _ = try await call(
            "UpdateTimeToLive",
            [
                "TableName": .string(table),
                "TimeToLiveSpecification": ["AttributeName": .string(attribute), "Enabled": .bool(enabled)],
            ]
        )
    }

    // MARK: Items

    /// `GetItem`; nil when there is no item at `key`.
    ///
    /// - Parameter consistentRead: see every write acknowledged before the read (twice the
    ///   read capacity); needed when a decision depends on the latest write.
    public func getItem(_ table: String, key: DynamoDBItem, consistentRead: Bool = true) async throws(RolloutError) -> DynamoDBItem? {
        var body: JSONObject = ["TableName": .string(table), "Key": .object(AttributeValue.json(key))]
        if consistentRead { body["ConsistentRead"] = true }
        let response = try await call("GetItem", body)
        guard let item = response["Item"]?.objectValue else { return nil }
        return try parseItem(item, operation: "GetItem")
    }

    /// `PutItem`: the whole item, replaced, when the condition holds.
    public func putItem(_ request: PutItemRequest) async throws(RolloutError) -> ConditionalWriteResult {
        try await conditionalWrite("PutItem", request.body, returnValues: nil)
    }

    /// `UpdateItem`: the attributes the update expression names, when the condition holds.
    public func updateItem(_ request: UpdateItemRequest) async throws(RolloutError) -> ConditionalWriteResult {
        try await conditionalWrite("UpdateItem", request.body, returnValues: request.returnsNewItem ? "ALL_NEW" : nil)
    }

    /// `DeleteItem`, when the condition holds.
    public func deleteItem(_ request: DeleteItemRequest) async throws(RolloutError) -> ConditionalWriteResult {
        try await conditionalWrite("DeleteItem", request.body, returnValues: request.returnsOldItem ? "ALL_OLD" : nil)
    }

    /// One page of `Query`.
    public func query(_ request: QueryRequest) async throws(RolloutError) -> QueryPage {
        let response = try await call("Query", request.body)
        var items: [DynamoDBItem] = []
        for value in response["Items"]?.arrayValue ?? [] {
            guard let object = value.objectValue else { throw malformed("Query", "an item that is not an object") }
            items.append(try parseItem(object, operation: "Query"))
        }
        let last = try response["LastEvaluatedKey"]?.objectValue.map { (object) throws(RolloutError) in
            try parseItem(object, operation: "Query")
        }
        return QueryPage(items: items, lastEvaluatedKey: last)
    }

    /// Every item `request` matches, page after page (`ExclusiveStartKey`), at most
    /// `maxPages` pages (1 MB each): InternalError past that.
    public func queryAll(_ request: QueryRequest, maxPages: Int = 100) async throws(RolloutError) -> [DynamoDBItem] {
        var request = request
        var items: [DynamoDBItem] = []
        for _ in 0..<maxPages {
            let page = try await query(request)
            items += page.items
            guard let next = page.lastEvaluatedKey else { return items }
            request.startKey = next
        }
        throw .internalError("DynamoDB Query on \(request.table) returned more than \(maxPages) pages")
    }

    /// `TransactWriteItems`: every action or none (at most 100, each item once).
    ///
    /// - Parameter clientRequestToken: makes the call idempotent for 10 minutes, so that a
    ///   retry after a lost response does not fail on the first attempt's own writes.
    public func transactWriteItems(
        _ actions: [TransactWriteAction], clientRequestToken: String? = nil
    ) async throws(RolloutError) -> TransactionResult {
        var body: JSONObject = ["TransactItems": .array(actions.map(\.json))]
        if let clientRequestToken { body["ClientRequestToken"] = .string(clientRequestToken) }
        switch try await call("TransactWriteItems", body, accepting: [Self.transactionCanceled]) {
        case .success:
            return .committed
        case .serviceError(_, let response):
            var reasons: [CancellationReason] = []
            for value in response["CancellationReasons"]?.arrayValue ?? [] {
                let item = try value["Item"]?.objectValue.map { (object) throws(RolloutError) in
                    try parseItem(object, operation: "TransactWriteItems")
                }
                reasons.append(
                    CancellationReason(
                        code: value["Code"]?.stringValue ?? "None", message: value["Message"]?.stringValue, item: item
                    )
                )
            }
            return .cancelled(reasons)
        }
    }

    // MARK: Wire

    private func conditionalWrite(
        _ operation: String, _ body: JSONObject, returnValues: String?
    ) async throws(RolloutError) -> ConditionalWriteResult {
        var body = body
        if body["ConditionExpression"] != nil { body["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD" }
        if let returnValues { body["ReturnValues"] = .string(returnValues) }
        switch try await call(operation, body, accepting: [Self.conditionFailed]) {
        case .success(let response):
            let attributes = try response["Attributes"]?.objectValue.map { (object) throws(RolloutError) in
                try parseItem(object, operation: operation)
            }
            return .written(attributes)
        case .serviceError(_, let response):
            let item = try response["Item"]?.objectValue.map { (object) throws(RolloutError) in
                try parseItem(object, operation: operation)
            }
            return .conditionFailed(item)
        }
    }

    private func call(_ operation: String, _ body: JSONObject) async throws(RolloutError) -> JSONValue {
        try await client.jsonCall(
            target: "\(Self.targetPrefix).\(operation)", jsonVersion: "1.0", body: .object(body), timeouts: timeouts,
            responseLimit: 8 << 20
        )
    }

    private func call(
        _ operation: String, _ body: JSONObject, accepting codes: Set<String>
    ) async throws(RolloutError) -> JSONCallOutcome {
        try await client.jsonCall(
            target: "\(Self.targetPrefix).\(operation)", jsonVersion: "1.0", body: .object(body), acceptedErrorCodes: codes,
            timeouts: timeouts, responseLimit: 8 << 20
        )
    }

    private func parseItem(_ object: JSONObject, operation: String) throws(RolloutError) -> DynamoDBItem {
        guard let item = AttributeValue.item(object) else { throw malformed(operation, "an attribute that is not a typed value") }
        return item
    }

    private static func tableDescription(_ value: JSONValue) -> TableDescription? {
        guard let name = value["TableName"]?.stringValue else { return nil }
        var types: [String: String] = [:]
        for definition in value["AttributeDefinitions"]?.arrayValue ?? [] {
            if let attribute = definition["AttributeName"]?.stringValue, let type = definition["AttributeType"]?.stringValue {
                types[attribute] = type
            }
        }
        let key = (value["KeySchema"]?.arrayValue ?? []).compactMap { element -> TableDescription.KeyAttribute? in
            guard let attribute = element["AttributeName"]?.stringValue, let keyType = element["KeyType"]?.stringValue else {
                return nil
            }
            return .init(name: attribute, keyType: keyType, attributeType: types[attribute] ?? "?")
        }
        return TableDescription(
            name: name, status: value["TableStatus"]?.stringValue ?? "UNKNOWN", key: key,
            billingMode: value["BillingModeSummary"]?["BillingMode"]?.stringValue
        )
    }

    /// Unavailable: a 2xx answer without what the model promises.
    private func malformed(_ operation: String, _ what: String) -> RolloutError {
        RolloutError(
            .unavailable, "DynamoDB \(operation) returned an unexpected response: \(what)",
            data: ["upstream": .object(["service": .string(AWSService.dynamoDB.explainKey)])]
        )
    }
}
