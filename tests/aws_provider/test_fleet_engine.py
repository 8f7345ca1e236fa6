"""Fleet mode driving real rollouts (SPEC §11): two daemons of one fleet on one moto table.

boto3 is the independent observer of the alias; the daemons are asked through their sockets.
Leases are 5 s (the minimum), so the owner renews every ~1.7 s and an adopter waits 5 s.
"""
import shutil
import signal
import subprocess
import time
import uuid

import pytest

from ..conftest import BIN_DIR
from .test_aws_provider import aws_env
from .test_rollouts import AliasWatcher, RolloutDaemon, alias_state, drain, lam, never_split, start_params, topic  # noqa: F401

LEASE = 5


@pytest.fixture
def table(boto):
    name = "fleet-" + uuid.uuid4().hex[:10]
    boto("dynamodb").create_table(
        TableName=name, KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST")
    return name


class FleetDaemon(RolloutDaemon):
    def __init__(self, env, table, node):
        super().__init__(env)
        self.node = node
        with self.config.open("a") as config:
            config.write(f'\n[fleet]\nbackend = "dynamodb"\ntable = "{table}"\nlease_secs = {LEASE}\nnode_id = "{node}"\n')


@pytest.fixture
def fleet(moto, table):
    daemons = []

    def make(node):
        d = FleetDaemon(aws_env(moto), table, node).start()
        daemons.append(d)
        return d

    yield make
    for d in daemons:
        if d.proc and d.proc.poll() is None:
            d.proc.send_signal(signal.SIGCONT)
            assert d.stop() == 0, d.log.read_text()[-3000:]


def test_a_deployment_started_on_a_is_seen_waited_for_and_stopped_from_b(fleet, lam, boto, table):
    a, b = fleet("node-a"), fleet("node-b")
    params = start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 2}, idempotencyKey="fleet-k1")
    with a.connect() as c:
        started = c.result("rollout.start", params)
        health = c.result("sys.health")
    deployment_id = started["deploymentId"]
    assert health["capabilities"]["fleet"]["nodeId"] == "node-a" and health["capabilities"]["fleet"]["owned"] == 1
    assert health["capabilities"]["fleet"]["detail"] == f"DynamoDB table {table}"
    with b.connect() as c:
        seen = c.result("rollout.get", {"deploymentId": deployment_id})
        assert seen["status"] == "InProgress" and seen["function"] == lam["name"]
        listed = c.result("rollout.list", {"alias": "live"})["deployments"]
        assert [d["owner"] for d in listed if d["deploymentId"] == deployment_id] == ["node-a"], listed
        assert c.result("rollout.get", {"deploymentId": deployment_id})["owner"] == "node-a"
        # One active deployment per alias across the fleet, by name or by ARN.
        arn = lam["client"].get_function(FunctionName=lam["name"])["Configuration"]["FunctionArn"]
        for function in (lam["name"], arn):
            err = c.error("rollout.start", dict(start_params(lam, {"type": "allAtOnce"}), function=function))
            assert err["data"]["reason"] == "Conflict" and err["data"]["activeDeploymentId"] == deployment_id, err
        table_text = subprocess.run([str(BIN_DIR / "rolloutctl"), "--socket", str(b.socket), "rollout", "list"],
                                    capture_output=True, text=True, timeout=30).stdout
        assert "OWNER" in table_text and "node-a" in table_text, table_text
        # The same key on another daemon replays the first start.
        replayed = c.result("rollout.start", params)
        assert replayed["deploymentId"] == deployment_id and replayed["replayed"] is True
        # Commands through a daemon that does not drive the deployment: applied by the owner
        # within one renewal period, and answered once applied, so what B reads next shows them.
        for command, paused in (("rollout.pause", True), ("rollout.resume", None)):
            sent = time.monotonic()
            c.result(command, {"deploymentId": deployment_id})
            assert time.monotonic() - sent < LEASE / 3 + 2, command
            assert c.result("rollout.get", {"deploymentId": deployment_id}).get("paused") == paused, command
        stop = {"deploymentId": deployment_id, "idempotencyKey": "fleet-stop-1"}
        stopped = c.result("rollout.stop", stop)
        assert "replayed" not in stopped
        done = c.result("rollout.wait", {"deploymentId": deployment_id, "timeoutSeconds": 30}, timeout=40)
    assert done["status"] == "Stopped" and done["rolledBack"] is True, done
    assert done["error"]["code"] == "MANUAL_STOP"
    with a.connect() as c:
        # The stop's key is fleet-wide too: A replays what B answered.
        assert c.result("rollout.stop", stop) == dict(stopped, replayed=True)
    assert alias_state(lam) == ("1", {})
    # The alias is free again, fleet-wide: B can start the next deployment.
    with b.connect() as c:
        again = c.result("rollout.start", start_params(lam, {"type": "allAtOnce"}))
        final = c.result("rollout.wait", {"deploymentId": again["deploymentId"], "timeoutSeconds": 30}, timeout=40)
    assert final["status"] == "Succeeded" and alias_state(lam) == ("2", {})


def test_a_machine_lost_mid_rollout_is_adopted_and_the_alias_ends_unsplit(fleet, lam, boto, topic):
    topic_arn, queue_url = topic
    a, b = fleet("node-a"), fleet("node-b")
    with AliasWatcher(lam) as watcher:
        with a.connect() as c:
            started = c.result("rollout.start", start_params(
                lam, {"type": "linear", "percent": 20, "intervalSeconds": 4}, notifyTopicArn=topic_arn))
        deployment_id = started["deploymentId"]
        deadline = time.monotonic() + 20
        while alias_state(lam)[1].get("2") != 0.4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alias_state(lam)[1].get("2") == 0.4
        # The machine is gone: process and state directory.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        killed_at = time.monotonic()
        shutil.rmtree(a.root / "state")
        adopted_after = None
        with b.connect() as c:
            while time.monotonic() < killed_at + 30:
                if c.result("sys.health")["capabilities"]["fleet"]["adopted"] == 1:
                    adopted_after = time.monotonic() - killed_at
                    break
                time.sleep(0.1)
            done = c.result("rollout.wait", {"deploymentId": deployment_id, "timeoutSeconds": 60}, timeout=70)
        time.sleep(0.2)
    print(f"adopted {adopted_after:.2f} s after SIGKILL (lease {LEASE} s, renewal every {LEASE / 3:.2f} s)")
    assert adopted_after is not None
    # Within a lease plus one renewal period (plus scheduling slack on a loaded machine).
    assert adopted_after <= LEASE + LEASE / 3 + 1.5, adopted_after
    assert done["status"] == "Succeeded", done
    assert alias_state(lam) == ("2", {})
    never_split(watcher.seen, lam)
    adopted = [e for e in done["events"] if e["type"] == "Adopted"]
    assert len(adopted) == 1 and adopted[0]["detail"] == "adopted by node-b (epoch 2)", done["events"]
    # On the original schedule: steps whose time passed while nobody drove are not replayed one
    # by one, and traffic only ever grows.
    weights = [w[0][1] for v, w in watcher.seen if w]
    assert weights == sorted(weights) and weights[:2] == [0.2, 0.4], watcher.seen
    # One notification per (deployment, event) across the adoption.
    messages = drain(boto, queue_url)
    assert sorted(m["event"] for m in messages) == ["DeploymentStart", "DeploymentSuccess"], messages


def test_a_frozen_driver_changes_nothing_after_another_adopted(fleet, lam):
    a, b = fleet("node-a"), fleet("node-b")
    with AliasWatcher(lam) as watcher:
        with a.connect() as c:
            started = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 20, "intervalSeconds": 3}))
        deployment_id = started["deploymentId"]
        deadline = time.monotonic() + 20
        while alias_state(lam)[1].get("2") != 0.2 and time.monotonic() < deadline:
            time.sleep(0.05)
        a.proc.send_signal(signal.SIGSTOP)
        with b.connect() as c:
            deadline = time.monotonic() + 30
            while c.result("sys.health")["capabilities"]["fleet"]["adopted"] != 1 and time.monotonic() < deadline:
                time.sleep(0.1)
            # A wakes up believing it leads: its timers fire, and every write it tries is fenced.
            a.proc.send_signal(signal.SIGCONT)
            done = c.result("rollout.wait", {"deploymentId": deployment_id, "timeoutSeconds": 60}, timeout=70)
        time.sleep(1)
        with a.connect() as c:
            fleet_health = c.result("sys.health")["capabilities"]["fleet"]
            seen_from_a = c.result("rollout.get", {"deploymentId": deployment_id})
    assert done["status"] == "Succeeded", done
    assert alias_state(lam) == ("2", {})
    never_split(watcher.seen, lam)
    weights = [w[0][1] for v, w in watcher.seen if w]
    assert weights == sorted(weights), watcher.seen
    assert fleet_health["owned"] == 0 and seen_from_a["status"] == "Succeeded"
    assert [e["detail"] for e in done["events"] if e["type"] == "Adopted"] == ["adopted by node-b (epoch 2)"]


def test_a_lone_daemon_restarted_with_its_node_id_adopts_its_own_deployment(fleet, lam):
    a = fleet("node-a")
    with AliasWatcher(lam) as watcher:
        with a.connect() as c:
            started = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 25, "intervalSeconds": 3}))
        deadline = time.monotonic() + 20
        while alias_state(lam)[1].get("2") != 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        shutil.rmtree(a.root / "state")
        # The same node, a new process: the lease names it but this process does not hold it, so
        # it is watched like any other and adopted after a whole lease.
        a.start()
        with a.connect() as c:
            done = c.result("rollout.wait", {"deploymentId": started["deploymentId"], "timeoutSeconds": 60}, timeout=70)
        time.sleep(0.2)
    assert done["status"] == "Succeeded", done
    assert alias_state(lam) == ("2", {})
    never_split(watcher.seen, lam)
    assert [e["detail"] for e in done["events"] if e["type"] == "Adopted"] == ["adopted by node-a (epoch 2)"]
