import RolloutCore
import Testing
@testable import RolloutAWS

/// DynamoDB's typed values and request shapes, without a server (the fleet store's moto tests
/// exercise the operations).
@Suite("DynamoDB wire")
struct DynamoDBWireTests {
    @Test func attributeValuesRoundTrip() throws {
        let item: DynamoDBItem = [
            "s": .s("x"), "n": .number(-12), "b": .b("AAE="), "t": .bool(true), "z": .null,
            "m": .m(["inner": .l([.s("a"), .n("1.5")])]), "ss": .ss(["a", "b"]), "ns": .ns(["1", "2"]),
        ]
        let wire = JSONValue.object(AttributeValue.json(item))
        #expect(wire["n"] == ["N": "-12"])
        #expect(wire["z"] == ["NULL": true])
        #expect(wire["m"] == ["M": ["inner": ["L": [["S": "a"], ["N": "1.5"]]]]])
        let object = try #require(try JSONParser.parse(wire.serialized()).objectValue)
        let parsed = try #require(AttributeValue.item(object))
        #expect(parsed == item)
        #expect(parsed["n"]?.int64Value == -12)
        #expect(AttributeValue(json: ["S": 1]) == nil)
        #expect(AttributeValue(json: ["S": "a", "N": "1"]) == nil)
        #expect(AttributeValue(json: ["X": "a"]) == nil)
    }

    /// Members are sorted, so a retried request is the same bytes whatever the dictionary order.
    @Test func requestsSerializeDeterministicallyAndAskForTheFailingItem() {
        let put = PutItemRequest(
            table: "t", item: ["pk": .s("a"), "sk": .s("b"), "z": .number(1)], condition: "attribute_not_exists(#pk)",
            attributes: ExpressionAttributes(names: ["#pk": "pk"])
        )
        #expect(JSONValue.object(put.body).jsonString == ##"{"TableName":"t","Item":{"pk":{"S":"a"},"sk":{"S":"b"},"z":{"N":"1"}},"ConditionExpression":"attribute_not_exists(#pk)","ExpressionAttributeNames":{"#pk":"pk"}}"##)
        let action = TransactWriteAction.conditionCheck(
            ConditionCheckRequest(table: "t", key: ["pk": .s("a"), "sk": .s("b")], condition: "#o = :me",
                                  attributes: ExpressionAttributes(names: ["#o": "owner"], values: [":me": .s("n1")]))
        )
        #expect(action.json["ConditionCheck"]?["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD")
        #expect(action.json["ConditionCheck"]?["ExpressionAttributeValues"] == [":me": ["S": "n1"]])
        let query = QueryRequest(
            table: "t", keyCondition: "#pk = :pk", attributes: ExpressionAttributes(names: ["#pk": "pk"], values: [":pk": .s("p")]),
            consistentRead: true, limit: 10, ascending: false, startKey: ["pk": .s("p"), "sk": .s("x")]
        )
        #expect(query.body["ConsistentRead"] == true)
        #expect(query.body["ScanIndexForward"] == false)
        #expect(query.body["ExclusiveStartKey"] == ["pk": ["S": "p"], "sk": ["S": "x"]])
    }
}
