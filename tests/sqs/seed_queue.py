"""Creates SQS queues in a moto server and drives them with boto3 (an independent client).

Usage:
  python3 seed_queue.py ENDPOINT_URL PREFIX
      creates a standard queue PREFIX-standard and a FIFO queue PREFIX.fifo and prints
      {"standard": URL, "fifo": URL}
  python3 seed_queue.py ENDPOINT_URL < ops.json
      runs a JSON array of operations and prints a JSON array with one result each:
        {"op": "create", "name": N, "fifo"?: bool, "visibility"?: S}  -> queue URL
        {"op": "send", "url": U, "body": B, "attributes"?: {k: v}, "groupId"?, "deduplicationId"?}
                                                                    -> MessageId
        {"op": "receive", "url": U, "max"?: 10, "wait"?: 0, "visibility"?: S}
            -> [{"messageId", "body", "attributes": {k: v}, "receipt", "receiveCount", "sentTimestamp"}]
        {"op": "drain", "url": U, "visibility"?: 30}  receives (wait 1 s) until an empty answer
            -> the same list, every message received
        {"op": "sleep", "seconds": S}                 -> null
"""
import json
import sys
import time

import boto3


def client(endpoint):
    return boto3.client(
        "sqs", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id="AKIDSEEDER", aws_secret_access_key="seeder-secret",
    )


def create(sqs, name, fifo=False, visibility=None):
    attributes = {}
    if fifo:
        attributes["FifoQueue"] = "true"
    if visibility is not None:
        attributes["VisibilityTimeout"] = str(visibility)
    return sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]


def receive(sqs, url, max_count=10, wait=0, visibility=None):
    kwargs = {
        "QueueUrl": url, "MaxNumberOfMessages": max_count, "WaitTimeSeconds": wait,
        "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        "MessageAttributeNames": ["All"],
    }
    if visibility is not None:
        kwargs["VisibilityTimeout"] = visibility
    out = []
    for message in sqs.receive_message(**kwargs).get("Messages", []):
        out.append({
            "messageId": message["MessageId"],
            "body": message["Body"],
            "attributes": {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()},
            "receipt": message["ReceiptHandle"],
            "receiveCount": int(message["Attributes"]["ApproximateReceiveCount"]),
            "sentTimestamp": int(message["Attributes"]["SentTimestamp"]),
        })
    return out


def run(sqs, op):
    kind = op["op"]
    if kind == "create":
        return create(sqs, op["name"], op.get("fifo", False), op.get("visibility"))
    if kind == "send":
        kwargs = {"QueueUrl": op["url"], "MessageBody": op["body"]}
        if op.get("attributes"):
            kwargs["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} for k, v in op["attributes"].items()
            }
        if "groupId" in op:
            kwargs["MessageGroupId"] = op["groupId"]
        if "deduplicationId" in op:
            kwargs["MessageDeduplicationId"] = op["deduplicationId"]
        return sqs.send_message(**kwargs)["MessageId"]
    if kind == "receive":
        return receive(sqs, op["url"], op.get("max", 10), op.get("wait", 0), op.get("visibility"))
    if kind == "drain":
        out = []
        while True:
            batch = receive(sqs, op["url"], 10, 1, op.get("visibility", 30))
            if not batch:
                return out
            out.extend(batch)
    if kind == "sleep":
        time.sleep(op["seconds"])
        return None
    raise SystemExit(f"unknown op {kind!r}")


def main():
    sqs = client(sys.argv[1])
    if len(sys.argv) > 2:
        prefix = sys.argv[2]
        print(json.dumps({"standard": create(sqs, prefix + "-standard"), "fifo": create(sqs, prefix + ".fifo", True)}))
        return
    print(json.dumps([run(sqs, op) for op in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
