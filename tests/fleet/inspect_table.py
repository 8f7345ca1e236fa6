"""boto3 view of a fleet table, for the Swift tests: the independent client.

    inspect_table.py --endpoint URL describe TABLE   -> {"keySchema":..., "attributes":..., "billing":..., "ttl":...}
    inspect_table.py --endpoint URL items TABLE      -> [items in boto3's typed wire form]
"""
import argparse
import json

import boto3


def client(endpoint):
    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDFLEETTEST", aws_secret_access_key="fleet-secret")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("what", choices=["describe", "items"])
    parser.add_argument("table")
    args = parser.parse_args()
    ddb = client(args.endpoint)
    if args.what == "describe":
        table = ddb.describe_table(TableName=args.table)["Table"]
        ttl = ddb.describe_time_to_live(TableName=args.table)["TimeToLiveDescription"]
        out = {
            "keySchema": sorted([k["AttributeName"], k["KeyType"]] for k in table["KeySchema"]),
            "attributes": sorted([a["AttributeName"], a["AttributeType"]] for a in table["AttributeDefinitions"]),
            "billing": table.get("BillingModeSummary", {}).get("BillingMode"),
            "ttl": [ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")],
        }
    else:
        items = []
        kwargs = {"TableName": args.table, "ConsistentRead": True}
        while True:
            page = ddb.scan(**kwargs)
            items += page["Items"]
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        out = sorted(items, key=lambda item: (item["pk"]["S"], item["sk"]["S"]))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
