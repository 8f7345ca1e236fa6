"""Sets up and inspects Lambda, CloudWatch and SNS resources in a moto server with boto3 (an
independent client) for the rollout client tests.

Usage:
  python3 seed_rollout.py ENDPOINT_URL < ops.json
      runs a JSON array of operations and prints a JSON array with one result each:
        {"op": "lambdaSimple"}        POST /moto-api/config {"lambda": {"use_docker": false}}
                                      (Invoke then runs without Docker) -> the config moto echoes
        {"op": "createFunction", "name": N}
            creates the IAM role rolloutd-test-lambda (once), the function N from a zip with a
            Python handler, and publishes versions 1 and 2 -> {"arn", "versions": ["1", "2"]}
        {"op": "touchFunction", "name": N}   changes N's description so the next publish makes
                                             a new version -> null
        {"op": "createAlias", "function": F, "name": A, "version": V} -> RevisionId
        {"op": "getAlias", "function": F, "name": A}
            -> {"version", "weights": {v: w} (absent RoutingConfig: {}), "hasRoutingConfig", "revisionId"}
        {"op": "scriptInvoke", "results": [S, ...]}
            POST /moto-api/static/lambda-simple/response {"results": [...], "region": "us-east-1"}:
            the next Invoke calls return these strings as their payloads, in order -> HTTP status
        {"op": "scriptOversizedInvoke"}
            queues a result over moto's 6 MB payload check: that Invoke answers HTTP 200 with
            X-Amz-Function-Error: Unhandled and a Function.ResponseSizeTooLarge error payload
            (the one way to make moto's Docker-less Lambda report a function error) -> HTTP status
        {"op": "putAlarm", "name": N}       a metric alarm (moto starts it as OK) -> null
        {"op": "setAlarmState", "name": N, "state": S} -> null
        {"op": "topicWithQueue", "name": N, "fifo"?: bool}
            a topic and a queue (both FIFO when asked), the queue subscribed to the topic
            -> {"topicArn", "queueUrl"}
        {"op": "drain", "url": U}    receives (wait 1 s) until an empty answer
            -> [{"body", "attributes": {k: v}, "system": {MessageGroupId, MessageDeduplicationId, ...}}]
        {"op": "sha256", "text": T}   -> lowercase hex SHA-256 of T's UTF-8
"""
import hashlib
import io
import json
import sys
import urllib.request
import zipfile

import boto3

REGION = "us-east-1"
ROLE = "rolloutd-test-lambda"


def client(endpoint, service):
    return boto3.client(
        service, endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="AKIDSEEDER", aws_secret_access_key="seeder-secret",
    )


def moto_api(endpoint, path, body):
    request = urllib.request.Request(
        endpoint + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, response.read()


def role_arn(endpoint):
    iam = client(endpoint, "iam")
    try:
        return iam.get_role(RoleName=ROLE)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
        }
        return iam.create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


def handler_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'status': 'Succeeded'}\n")
    return buffer.getvalue()


def run(endpoint, op):
    kind = op["op"]
    if kind == "lambdaSimple":
        _, body = moto_api(endpoint, "/moto-api/config", {"lambda": {"use_docker": False}})
        return json.loads(body)
    if kind == "createFunction":
        lam = client(endpoint, "lambda")
        arn = lam.create_function(
            FunctionName=op["name"], Runtime="python3.12", Role=role_arn(endpoint), Handler="handler.handler",
            Code={"ZipFile": handler_zip()}, Description="v1",
        )["FunctionArn"]
        versions = [lam.publish_version(FunctionName=op["name"])["Version"]]
        lam.update_function_configuration(FunctionName=op["name"], Description="v2")
        versions.append(lam.publish_version(FunctionName=op["name"])["Version"])
        return {"arn": arn, "versions": versions}
    if kind == "touchFunction":
        client(endpoint, "lambda").update_function_configuration(FunctionName=op["name"], Description="touched")
        return None
    if kind == "createAlias":
        return client(endpoint, "lambda").create_alias(
            FunctionName=op["function"], Name=op["name"], FunctionVersion=op["version"]
        )["RevisionId"]
    if kind == "getAlias":
        alias = client(endpoint, "lambda").get_alias(FunctionName=op["function"], Name=op["name"])
        routing = alias.get("RoutingConfig")
        return {
            "version": alias["FunctionVersion"],
            "weights": (routing or {}).get("AdditionalVersionWeights", {}),
            "hasRoutingConfig": routing is not None,
            "revisionId": alias["RevisionId"],
        }
    if kind == "scriptInvoke":
        status, _ = moto_api(
            endpoint, "/moto-api/static/lambda-simple/response", {"results": op["results"], "region": REGION}
        )
        return status
    if kind == "scriptOversizedInvoke":
        status, _ = moto_api(
            endpoint, "/moto-api/static/lambda-simple/response", {"results": ["x" * 6_100_000], "region": REGION}
        )
        return status
    if kind == "putAlarm":
        client(endpoint, "cloudwatch").put_metric_alarm(
            AlarmName=op["name"], MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        return None
    if kind == "setAlarmState":
        client(endpoint, "cloudwatch").set_alarm_state(
            AlarmName=op["name"], StateValue=op["state"], StateReason="set by the rollout client tests"
        )
        return None
    if kind == "topicWithQueue":
        sns = client(endpoint, "sns")
        sqs = client(endpoint, "sqs")
        fifo = op.get("fifo", False)
        suffix = ".fifo" if fifo else ""
        topic_attributes = {"FifoTopic": "true"} if fifo else {}
        queue_attributes = {"FifoQueue": "true"} if fifo else {}
        topic_arn = sns.create_topic(Name=op["name"] + suffix, Attributes=topic_attributes)["TopicArn"]
        queue_url = sqs.create_queue(QueueName=op["name"] + suffix, Attributes=queue_attributes)["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
        return {"topicArn": topic_arn, "queueUrl": queue_url}
    if kind == "drain":
        sqs = client(endpoint, "sqs")
        out = []
        while True:
            messages = sqs.receive_message(
                QueueUrl=op["url"], MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"],
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                return out
            for message in messages:
                out.append({
                    "body": message["Body"],
                    "attributes": {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()},
                    "system": message.get("Attributes", {}),
                })
    if kind == "sha256":
        return hashlib.sha256(op["text"].encode()).hexdigest()
    raise SystemExit(f"unknown op {kind!r}")


def main():
    endpoint = sys.argv[1]
    print(json.dumps([run(endpoint, op) for op in json.load(sys.stdin)]))


if __name__ == "__main__":
    main()
