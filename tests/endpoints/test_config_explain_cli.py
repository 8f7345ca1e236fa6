"""`rolloutctl config explain --json` against botocore, through the real CLI binary."""
import json
import os
import subprocess
from pathlib import Path

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ROLLOUT_BIN_DIR", REPO / ".build" / "debug")) / "rolloutctl"
BOTO_NAMES = {"s3": "s3", "sqs": "sqs", "secrets_manager": "secretsmanager", "lambda": "lambda",
              "cloudwatch": "cloudwatch", "sns": "sns", "codedeploy": "codedeploy", "sts": "sts",
              "dynamodb": "dynamodb"}

CASES = [
    ({"AWS_ENDPOINT_URL_S3": "http://localhost:4567"}, ""),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, ""),
    ({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SQS": "http://sqs.local:9324"}, ""),
    ({}, "[default]\nendpoint_url = http://profile.local:1\n"),
    ({}, "[default]\nservices = dev\n[services dev]\nsecretsmanager =\n  endpoint_url = http://sm.local:2\n"
         "sqs =\n  endpoint_url = http://sqs.local:3\n"),
    ({"AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true", "AWS_ENDPOINT_URL": "http://ignored:1"},
     "[default]\nendpoint_url = http://ignored:2\n"),
    ({"AWS_PROFILE": "dev"}, "[profile dev]\nregion = eu-west-1\nendpoint_url = http://dev.local:4\n"),
]


@pytest.mark.parametrize("env,config_text", CASES)
def test_explain_matches_botocore(tmp_path, env, config_text):
    config_file = tmp_path / "aws-config"
    config_file.write_text(config_text)
    toml = tmp_path / "rollout.toml"
    toml.write_text('[cloud]\nprovider = "aws"\n')
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(env, AWS_CONFIG_FILE=str(config_file), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"),
                   AWS_DEFAULT_REGION="us-west-2")
    out = subprocess.run([str(BIN), "config", "explain", "--config", str(toml), "--json"],
                         capture_output=True, text=True, env=environ, timeout=30)
    assert out.returncode == 0, out.stderr
    explained = json.loads(out.stdout)
    assert explained["provider"] == "aws"
    assert set(explained["services"]) == set(BOTO_NAMES)
    saved = dict(os.environ)
    try:
        os.environ.clear()
        os.environ.update(environ)
        session = boto3.session.Session()
        for ours, boto_name in BOTO_NAMES.items():
            client = session.client(boto_name, aws_access_key_id="x", aws_secret_access_key="y")
            got = explained["services"][ours]
            assert got["endpointUrl"] == client.meta.endpoint_url, (ours, got)
            assert got["region"] == client.meta.region_name, (ours, got)
            assert "x" != got.get("endpointSource")
    finally:
        os.environ.clear()
        os.environ.update(saved)
    assert "aws_secret_access_key" not in out.stdout


def test_explain_names_sources(tmp_path):
    toml = tmp_path / "rollout.toml"
    toml.write_text('[cloud]\nprovider = "aws"\nregion = "eu-central-1"\n[cloud.aws.sqs]\nendpoint_url = "http://q.local:1"\n')
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_ENDPOINT_URL_S3="http://s3.local:2")
    out = subprocess.run([str(BIN), "config", "explain", "--config", str(toml), "--json"],
                         capture_output=True, text=True, env=environ, timeout=30)
    services = json.loads(out.stdout)["services"]
    assert services["sqs"]["endpointSource"] == "config:cloud.aws.sqs.endpoint_url"
    assert services["s3"]["endpointSource"] == "env:AWS_ENDPOINT_URL_S3"
    assert services["lambda"]["endpointSource"] == "default"
    assert services["lambda"]["regionSource"] == "config:cloud.region"
