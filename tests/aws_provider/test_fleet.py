"""Fleet mode's foundations through the real binaries (SPEC §11): the `[fleet]` config,
`rolloutctl fleet init` against moto with boto3 as the independent client, and a daemon that
refuses to start without a usable table."""
import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BIN = Path(os.environ.get("ROLLOUT_BIN_DIR", REPO / ".build" / "debug"))


def env_for(tmp_path):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(AWS_ACCESS_KEY_ID="AKIDFLEET", AWS_SECRET_ACCESS_KEY="fleet-secret", AWS_EC2_METADATA_DISABLED="true",
                   AWS_CONFIG_FILE=str(tmp_path / "none"), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    return environ


def write_config(tmp_path, fleet, provider="aws"):
    path = tmp_path / "rollout.toml"
    path.write_text(f'[server]\nsocket = "{tmp_path}/s.sock"\nstate_dir = "{tmp_path}/state"\n'
                    f'file_roots = ["{tmp_path}/files"]\n'
                    f'[cloud]\nprovider = "{provider}"\nregion = "us-east-1"\n[fleet]\n{fleet}')
    return path


def run(tmp_path, *args, timeout=60):
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True, env=env_for(tmp_path),
                          timeout=timeout)


@pytest.mark.parametrize("fleet,key,words", [
    ('backend = "dynamodb"\n', "fleet.table", "required"),
    ('backend = "dynamodb"\ntable = "tbl1"\nlease_secs = 4\n', "fleet.lease_secs", "5...300"),
    ('backend = "dynamodb"\ntable = "tbl1"\nlease_secs = 301\n', "fleet.lease_secs", "5...300"),
    ('backend = "etcd"\n', "fleet.backend", '"none", "dynamodb"'),
    ('backend = "dynamodb"\ntable = "no spaces"\n', "fleet.table", "not a DynamoDB table name"),
    ('backend = "dynamodb"\ntable = "tbl1"\nendpoint_url = "localhost:1"\n', "fleet.endpoint_url", "http://"),
    ('backend = "dynamodb"\ntable = "tbl1"\nnode_id = ""\n', "fleet.node_id", "must not be empty"),
    ('backend = "dynamodb"\ntable = "tbl1"\nleases = 3\n', "fleet.leases", "known keys in [fleet]"),
])
def test_config_check_names_the_key(tmp_path, fleet, key, words):
    out = run(tmp_path, "rolloutctl", "config", "check", "--config", str(write_config(tmp_path, fleet)))
    assert out.returncode == 4, out
    assert key in out.stderr and words in out.stderr, out.stderr


def test_fleet_needs_the_aws_provider(tmp_path):
    out = run(tmp_path, "rolloutctl", "config", "check", "--config",
              str(write_config(tmp_path, 'backend = "dynamodb"\ntable = "tbl1"\n', provider="local")))
    assert out.returncode == 4, out
    assert 'fleet.backend = "dynamodb" needs cloud.provider = "aws"' in out.stderr, out.stderr


def test_config_explain_shows_fleet_and_the_dynamodb_endpoint(tmp_path):
    config = write_config(tmp_path, 'backend = "dynamodb"\ntable = "tbl1"\nlease_secs = 9\nnode_id = "ci-7"\n'
                                    'endpoint_url = "http://127.0.0.1:4566"\n')
    out = run(tmp_path, "rolloutctl", "config", "explain", "--config", str(config), "--json")
    assert out.returncode == 0, out.stderr
    explained = json.loads(out.stdout)
    assert explained["fleet"]["table"] == "tbl1" and explained["fleet"]["leaseSecs"] == 9
    assert explained["fleet"]["nodeId"] == "ci-7"
    assert explained["services"]["dynamodb"] == {"endpointUrl": "http://127.0.0.1:4566",
                                                 "endpointSource": "config:fleet.endpoint_url",
                                                 "region": "us-east-1", "regionSource": "config:cloud.region"}


def test_fleet_init_creates_the_table_once_and_the_daemon_checks_it(tmp_path, moto, boto):
    table = f"fleet-{os.getpid()}"
    config = write_config(tmp_path, f'backend = "dynamodb"\ntable = "{table}"\nlease_secs = 5\nendpoint_url = "{moto}"\n')
    # Missing table: the daemon does not start, and says which table.
    out = run(tmp_path, "rolloutd", "--config", str(config), timeout=30)
    assert out.returncode == 1
    assert f"the fleet table {table} does not exist" in out.stderr and "rolloutctl fleet init" in out.stderr
    first = run(tmp_path, "rolloutctl", "fleet", "init", "--config", str(config), "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["created"] is True and report["table"] == table
    assert "dynamodb:ConditionCheckItem" in report["iamActions"]["daemon"]
    assert "dynamodb:CreateTable" in report["iamActions"]["init"]
    again = run(tmp_path, "rolloutctl", "fleet", "init", "--config", str(config))
    assert again.returncode == 0 and f"table {table} exists" in again.stdout and "dynamodb:Query" in again.stdout
    ddb = boto("dynamodb")
    described = ddb.describe_table(TableName=table)["Table"]
    assert sorted((k["AttributeName"], k["KeyType"]) for k in described["KeySchema"]) == [("pk", "HASH"), ("sk", "RANGE")]
    assert sorted((a["AttributeName"], a["AttributeType"]) for a in described["AttributeDefinitions"]) == [("pk", "S"), ("sk", "S")]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    ttl = ddb.describe_time_to_live(TableName=table)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "purgeAt"}
    # A table of another key schema is refused by name.
    other = f"other-{os.getpid()}"
    ddb.create_table(TableName=other, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST")
    wrong = write_config(tmp_path, f'backend = "dynamodb"\ntable = "{other}"\nendpoint_url = "{moto}"\n')
    out = run(tmp_path, "rolloutd", "--config", str(wrong), timeout=30)
    assert out.returncode == 1 and f"the fleet table {other} has the key schema id (HASH, S)" in out.stderr
    out = run(tmp_path, "rolloutctl", "fleet", "init", "--table", other, "--config", str(config))
    assert out.returncode != 0 and other in out.stderr


def test_fleet_init_without_a_table_is_a_usage_error(tmp_path):
    out = run(tmp_path, "rolloutctl", "fleet", "init", "--config", str(write_config(tmp_path, "")))
    assert out.returncode == 2 and "--table" in out.stderr


def test_rolloutctl_still_links_no_curl():
    out = subprocess.run(["ldd", str(BIN / "rolloutctl")], capture_output=True, text=True)
    assert "libcurl" not in out.stdout
