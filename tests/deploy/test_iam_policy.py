"""deploy/iam-policy.json grants exactly the AWS actions the code calls, and
deploy/s3-lifecycle.json is what `aws s3api put-bucket-lifecycle-configuration` takes.

The AWS operations are read from the Swift sources (Sources/RolloutAWS), the way each client
names them: `AWSRequest(operation: "X"` (S3, and Lambda through its helper), a private
`call("X"` helper (SQS, Lambda, CodeDeploy), `queryCall(XML)?(action: "X"` (CloudWatch, SNS, STS)
and JSON targets `"prefix.X"` (Secrets Manager). Each operation must exist in botocore's model of
its service, maps to an IAM action, and the policy must allow every such action and nothing else.
STS (AssumeRoleWithWebIdentity, AssumeRole) is credential plumbing, not in this policy: the web
identity exchange is authorized by the role's trust policy, and AssumeRole by the policy of the
identity that assumes the role.
DynamoDB is fleet mode's (SPEC §11): its daemon actions are in deploy/iam-policy-fleet.json, added
to a role only when `[fleet]` is on; creating the table (`rolloutctl fleet init`) is an operator's
one-time step and is in neither file (fleet init prints what it needs).
"""
import fnmatch
import json
import re
from collections import defaultdict

import botocore.session
import pytest
from botocore.validate import ParamValidationError, validate_parameters

from .support import DEPLOY, REPO, rollout_config, strict_json

SOURCES = REPO / "Sources" / "RolloutAWS"

# Source directory -> (botocore service name, IAM prefix). None: no AWS API calls (or not IAM's).
SERVICE_DIRS = {
    "S3": ("s3", "s3"),
    "SQS": ("sqs", "sqs"),
    "SecretsManager": ("secretsmanager", "secretsmanager"),
    "Lambda": ("lambda", "lambda"),
    "CloudWatch": ("cloudwatch", "cloudwatch"),
    "SNS": ("sns", "sns"),
    "CodeDeploy": ("codedeploy", "codedeploy"),
    "Credentials": ("sts", "sts"),
    "DynamoDB": ("dynamodb", "dynamodb"),
}
# Services whose actions live in a policy of their own, and the operations only an operator's
# one-time setup calls.
SEPARATE_POLICY = {"dynamodb": "iam-policy-fleet.json"}
SETUP_ONLY = {("dynamodb", "CreateTable"), ("dynamodb", "DescribeTimeToLive"), ("dynamodb", "UpdateTimeToLive")}
# Where a non-literal operation name is fine: the generic protocol helpers, per-client helpers
# whose callers pass literals (those callers are what the scan reads), and a target held in a
# constant the JSON-target pattern reads.
DYNAMIC_OPERATION_FILES = {
    "Client/AWSClient+Protocols.swift", "Lambda/LambdaClient.swift", "Credentials/STSClient.swift",
    "SecretsManager/SecretsManagerStore.swift",
}
CREDENTIAL_PLUMBING = {"sts"}

# API operation -> IAM action(s), where they differ from "<prefix>:<Operation>".
IAM_ACTIONS = {
    ("s3", "HeadObject"): ["s3:GetObject"],
    ("s3", "CreateMultipartUpload"): ["s3:PutObject"],
    ("s3", "UploadPart"): ["s3:PutObject"],
    ("s3", "CompleteMultipartUpload"): ["s3:PutObject"],
    ("s3", "ListObjectsV2"): ["s3:ListBucket"],
    ("s3", "ListObjects"): ["s3:ListBucket"],
    ("s3", "ListMultipartUploads"): ["s3:ListBucketMultipartUploads"],
    ("s3", "ListParts"): ["s3:ListMultipartUploadParts"],
    ("s3", "CopyObject"): ["s3:GetObject", "s3:PutObject"],
    ("sqs", "SendMessageBatch"): ["sqs:SendMessage"],
    ("sqs", "DeleteMessageBatch"): ["sqs:DeleteMessage"],
    ("sqs", "ChangeMessageVisibilityBatch"): ["sqs:ChangeMessageVisibility"],
    ("lambda", "Invoke"): ["lambda:InvokeFunction"],
    # A transaction is authorized action by action (IAM has no TransactWriteItems action).
    ("dynamodb", "TransactWriteItems"): ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem",
                                         "dynamodb:ConditionCheckItem"],
}
# Operations whose IAM action has the operation's own name (checked one by one, so a new
# operation has to be looked at before it passes).
SAME_NAME = {
    "s3": {"PutObject", "GetObject", "DeleteObject", "AbortMultipartUpload"},
    "sqs": {"SendMessage", "ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility"},
    "secretsmanager": {"GetSecretValue"},
    "lambda": {"GetAlias", "UpdateAlias", "PublishVersion", "GetFunctionConfiguration"},
    "cloudwatch": {"DescribeAlarms"},
    "sns": {"Publish"},
    "codedeploy": {"CreateDeployment", "GetDeployment", "ListDeployments", "StopDeployment",
                   "PutLifecycleEventHookExecutionStatus", "GetDeploymentConfig", "CreateDeploymentConfig",
                   "ListDeploymentTargets", "BatchGetDeploymentTargets"},
    "sts": {"AssumeRoleWithWebIdentity", "AssumeRole"},
    "dynamodb": {"DescribeTable", "GetItem", "PutItem", "UpdateItem", "DeleteItem", "Query"},
}
# JSON-protocol target prefixes -> service directory.
JSON_TARGETS = {"secretsmanager": "SecretsManager", "AmazonSQS": "SQS", "CodeDeploy_20141006": "CodeDeploy",
                "DynamoDB_20120810": "DynamoDB"}


def strip_comments(text):
    return "\n".join(line.split("//", 1)[0] if not line.strip().startswith("//") else "" for line in text.splitlines())


def scan_operations():
    """{service directory: {operation}} from the Swift sources; fails on what it cannot place."""
    found = defaultdict(set)
    for path in sorted(SOURCES.rglob("*.swift")):
        relative = path.relative_to(SOURCES).as_posix()
        directory = relative.split("/")[0]
        text = strip_comments(path.read_text())
        here = set()
        here |= set(re.findall(r'AWSRequest\(\s*operation:\s*"(\w+)"', text))
        here |= set(re.findall(r'queryCall(?:XML)?\(\s*action:\s*"(\w+)"', text))
        here |= set(re.findall(r'(?<![\w.])call\(\s*"(\w+)"', text))
        for prefix, operation in re.findall(r'"(\w+)\.([A-Z]\w+)"', text):
            if prefix in JSON_TARGETS:
                assert JSON_TARGETS[prefix] == directory, f"{relative}: {prefix}.{operation} outside {JSON_TARGETS[prefix]}/"
                here.add(operation)
        # STS's helper passes `action:` through: its callers name the action on their own line.
        if directory == "Credentials":
            here |= set(re.findall(r'\baction:\s*"(\w+)"', text))
        dynamic = re.findall(r'AWSRequest\(\s*operation:\s*(?!")(\w+)', text) + \
            re.findall(r'(?:jsonCall|queryCall(?:XML)?)\(\s*(?:target|action):\s*(?!")([\w\\(]+)', text)
        if dynamic and relative not in DYNAMIC_OPERATION_FILES:
            raise AssertionError(f"{relative}: operation name not a literal ({dynamic}); the IAM scan cannot see it")
        if here:
            assert directory in SERVICE_DIRS, f"{relative} calls AWS operations {sorted(here)}: add Sources/RolloutAWS/{directory} to SERVICE_DIRS"
            found[directory] |= here
    # AWS calls live in RolloutAWS only; anything else would escape the scan.
    for path in sorted((REPO / "Sources").rglob("*.swift")):
        if SOURCES not in path.parents:
            text = strip_comments(path.read_text())
            assert not re.search(r"AWSRequest\(|\.jsonCall\(|\.queryCall(?:XML)?\(", text), \
                f"{path.relative_to(REPO)} calls AWS directly; move it to RolloutAWS or extend the scan"
    return found


@pytest.fixture(scope="module")
def operations():
    found = scan_operations()
    for directory in SERVICE_DIRS:
        # Loud on an empty scan: a refactor that renames the call helpers must update the scan,
        # not silently leave a service with no required permissions.
        assert found.get(directory), f"found no AWS operation under Sources/RolloutAWS/{directory}: fix the scan"
    return found


def test_every_scanned_operation_exists_in_botocore(operations):
    session = botocore.session.get_session()
    for directory, names in operations.items():
        model = session.get_service_model(SERVICE_DIRS[directory][0])
        unknown = names - set(model.operation_names)
        assert not unknown, f"{directory}: not {model.service_name} operations: {sorted(unknown)}"


def required_actions(operations, policy_file="iam-policy.json"):
    """{IAM action: {service:Operation}} the daemon needs, for the services of `policy_file`."""
    actions = {}
    for directory, names in operations.items():
        service, prefix = SERVICE_DIRS[directory]
        if service in CREDENTIAL_PLUMBING or SEPARATE_POLICY.get(service, "iam-policy.json") != policy_file:
            continue
        for name in names:
            if (service, name) in SETUP_ONLY:
                continue
            if (service, name) in IAM_ACTIONS:
                mapped = IAM_ACTIONS[(service, name)]
            else:
                assert name in SAME_NAME.get(service, set()), \
                    f"{service} {name}: add its IAM action to IAM_ACTIONS or SAME_NAME in {__file__}"
                mapped = [f"{prefix}:{name}"]
            for action in mapped:
                actions.setdefault(action, set()).add(f"{service}:{name}")
    return actions


@pytest.fixture(scope="module")
def policy():
    return strict_json(DEPLOY / "iam-policy.json")


def allows(policy, action):
    return [s for s in policy["Statement"]
            if s["Effect"] == "Allow" and any(fnmatch.fnmatchcase(action.lower(), a.lower()) for a in as_list(s["Action"]))]


def as_list(value):
    return value if isinstance(value, list) else [value]


def test_policy_shape(policy):
    assert policy["Version"] == "2012-10-17"
    sids = [s.get("Sid") for s in policy["Statement"]]
    assert all(sids) and len(set(sids)) == len(sids), f"every statement needs its own Sid: {sids}"
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        assert not {"NotAction", "NotResource", "Principal"} & set(statement), statement["Sid"]
        for action in as_list(statement["Action"]):
            assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), f"{statement['Sid']}: no wildcards ({action})"
        for resource in as_list(statement["Resource"]):
            assert resource.startswith("arn:aws:") or resource == "*", resource


def test_policy_allows_every_action_the_code_calls(operations, policy):
    missing = {a: ops for a, ops in required_actions(operations).items() if not allows(policy, a)}
    assert not missing, f"iam-policy.json does not allow: {missing}"


def test_policy_grants_nothing_the_code_never_calls(operations, policy):
    required = set(required_actions(operations))
    granted = {a for s in policy["Statement"] for a in as_list(s["Action"])}
    extra = granted - required
    assert not extra, f"iam-policy.json grants actions no code path calls: {sorted(extra)}"
    assert not any(a.startswith("sts:") for a in granted), "STS is credential plumbing (trust policy)"


def test_policy_resources_match_the_deploy_config(policy):
    aws = rollout_config()["cloud"]["aws"]
    region = rollout_config()["cloud"]["region"]
    bucket, prefix = aws["s3"]["bucket"], aws["s3"].get("prefix", "")
    by_action = defaultdict(list)
    for statement in policy["Statement"]:
        for action in as_list(statement["Action"]):
            by_action[action].append(statement)

    def resources(action):
        return {r for s in by_action[action] for r in as_list(s["Resource"])}

    for action in ("s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"):
        assert resources(action) == {f"arn:aws:s3:::{bucket}/{prefix}*"}, action
    assert resources("s3:ListBucket") == {f"arn:aws:s3:::{bucket}"}
    if prefix:
        (listing,) = by_action["s3:ListBucket"]
        assert listing["Condition"]["StringLike"]["s3:prefix"] == [f"{prefix}*"]

    host, account, queue = re.fullmatch(r"https://sqs\.([\w-]+)\.amazonaws\.com/(\d{12})/([\w.-]+)", aws["sqs"]["queue_url"]).groups()
    assert host == region
    for action in ("sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility"):
        assert resources(action) == {f"arn:aws:sqs:{region}:{account}:{queue}"}, action

    # Secrets Manager appends "-" and 6 random characters to every secret's ARN.
    assert resources("secretsmanager:GetSecretValue") == {
        f"arn:aws:secretsmanager:{region}:{account}:secret:{name}-??????" for name in aws["secrets"]["allowlist"]}

    # Only DescribeAlarms has "*": botocore's own documentation of the operation says composite
    # alarms are returned only with the permission scoped to "*".
    doc = botocore.session.get_session().get_service_model("cloudwatch").operation_model("DescribeAlarms").documentation
    assert "scoped to <code>*</code>" in doc
    star = {a for a, statements in by_action.items() for s in statements if "*" in as_list(s["Resource"])}
    assert star == {"cloudwatch:DescribeAlarms"}, star
    for arn in {r for s in policy["Statement"] for r in as_list(s["Resource"])} - {"*"}:
        if not arn.startswith("arn:aws:s3:"):
            assert f":{region}:{account}:" in arn, f"{arn}: region/account differ from the config's"


def test_policy_is_a_valid_iam_document(policy):
    """moto's IAM applies AWS's policy-document checks (syntax, action and ARN shapes)."""
    import boto3
    from moto import mock_aws
    with mock_aws():
        iam = boto3.client("iam", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        iam.create_policy(PolicyName="rolloutd", PolicyDocument=json.dumps(policy))
        broken = json.loads(json.dumps(policy))
        broken["Statement"][0]["Action"] = ["s3ListBucket"]
        with pytest.raises(iam.exceptions.MalformedPolicyDocumentException):
            iam.create_policy(PolicyName="broken", PolicyDocument=json.dumps(broken))


# ----------------------------------------------------------------------------- S3 lifecycle

def test_lifecycle_rule_validates_against_botocore_and_round_trips():
    lifecycle = strict_json(DEPLOY / "s3-lifecycle.json")
    operation = botocore.session.get_session().get_service_model("s3").operation_model("PutBucketLifecycleConfiguration")
    bucket = rollout_config()["cloud"]["aws"]["s3"]["bucket"]
    # The file is the LifecycleConfiguration member: what --lifecycle-configuration file:// takes.
    validate_parameters({"Bucket": bucket, "LifecycleConfiguration": lifecycle}, operation.input_shape)
    with pytest.raises(ParamValidationError):
        validate_parameters({"Bucket": bucket, "LifecycleConfiguration": {"Rules": [{"ID": "x"}]}}, operation.input_shape)

    rules = [r for r in lifecycle["Rules"] if "AbortIncompleteMultipartUpload" in r]
    assert len(rules) == 1
    (rule,) = rules
    assert rule["Status"] == "Enabled"
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    prefix = rollout_config()["cloud"]["aws"]["s3"].get("prefix", "")
    assert rule.get("Filter", {}).get("Prefix", "") in ("", prefix), "the rule must cover the daemon's prefix"

    import boto3
    from moto import mock_aws
    with mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket=bucket)
        s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration=lifecycle)
        stored = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        assert [r["AbortIncompleteMultipartUpload"] for r in stored] == [{"DaysAfterInitiation": 1}]


@pytest.fixture(scope="module")
def fleet_policy():
    return strict_json(DEPLOY / "iam-policy-fleet.json")


def test_fleet_policy_allows_exactly_what_fleet_mode_calls(operations, fleet_policy):
    required = set(required_actions(operations, "iam-policy-fleet.json"))
    granted = {a for s in fleet_policy["Statement"] for a in as_list(s["Action"])}
    assert granted == required, f"iam-policy-fleet.json: missing {sorted(required - granted)}, extra {sorted(granted - required)}"
    for statement in fleet_policy["Statement"]:
        for resource in as_list(statement["Resource"]):
            assert resource.startswith("arn:aws:dynamodb:") and ":table/" in resource, resource
