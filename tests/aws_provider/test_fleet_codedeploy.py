"""Fleet mode with the CodeDeploy engine (SPEC §11, last bullet): CodeDeploy keeps the state, the
fleet table shares the record, the alias claim and the idempotency keys, so any daemon can get,
wait for and stop a deployment another one started.

Two daemons of one fleet on a moto table; CodeDeploy is the scripted fake
(tests/fixtures/codedeploy_fake.py: moto keeps CodeDeploy deployments in `Created` and cannot stop
them), Lambda and DynamoDB are moto. Every GetDeployment, from either daemon, moves the fake's
deployment one status along its script.
"""
import json
import shutil
import signal
import urllib.request

from .test_fleet_engine import FleetDaemon, table  # noqa: F401 - the fixture is used by name
from .test_aws_provider import aws_env
from .test_rollouts import alias_state, lam, start_params  # noqa: F401
from .test_rollouts_codedeploy import fake  # noqa: F401


class CodeDeployFleetDaemon(FleetDaemon):
    def __init__(self, env, table, node):
        super().__init__(env, table, node)
        text = self.config.read_text()
        text = text.replace("[cloud.aws.rollout]\n", '[cloud.aws.rollout]\nengine = "codedeploy"\n'
                                                      'codedeploy_application = "app"\ncodedeploy_deployment_group = "live"\n', 1)
        self.config.write_text(text)


def configure(url, body):
    request = urllib.request.Request(url + "/__config", data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
    urllib.request.urlopen(request).read()


def fleet_items(boto, table_name, pk):
    items = boto("dynamodb").query(TableName=table_name, KeyConditionExpression="pk = :pk",
                                   ExpressionAttributeValues={":pk": {"S": pk}}, ConsistentRead=True)["Items"]
    return items


def test_a_codedeploy_deployment_started_on_a_is_seen_waited_for_and_stopped_from_b(moto, boto, lam, fake, table):
    url, calls = fake
    # Long enough that the polls of both daemons do not end it before the stop.
    configure(url, {"createScript": ["Created"] + ["InProgress"] * 200 + ["Succeeded"]})
    env = aws_env(moto, AWS_ENDPOINT_URL_CODEDEPLOY=url)
    a = CodeDeployFleetDaemon(env, table, "node-a").start()
    b = CodeDeployFleetDaemon(env, table, "node-b").start()
    try:
        params = start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 60}, idempotencyKey="cd-k1")
        with a.connect() as c:
            started = c.result("rollout.start", params)
        deployment_id = started["deploymentId"]
        assert [x["op"] for x in calls()].count("CreateDeployment") == 1
        # The record and the alias claim are in the fleet table, the claim without a lease.
        (claim,) = fleet_items(boto, table, "FLEET#ACTIVE")
        assert claim["deploymentId"]["S"] == deployment_id and claim["engine"]["S"] == "codedeploy"
        assert "owner" not in claim and "epoch" not in claim
        with b.connect() as c:
            seen = c.result("rollout.get", {"deploymentId": deployment_id})
            assert seen["engine"] == "codedeploy" and seen["status"] in ("Created", "InProgress"), seen
            assert seen["function"] == lam["name"] and seen["toVersion"] == "2" and "owner" not in seen
            listed = c.result("rollout.list", {"function": lam["name"]})["deployments"]
            assert [d["deploymentId"] for d in listed] == [deployment_id], listed
            # One active deployment per alias, fleet-wide, whichever engine the second start asks for.
            for engine in ("codedeploy", "native"):
                err = c.error("rollout.start", start_params(lam, {"type": "allAtOnce"}, engine=engine))
                assert err["data"]["reason"] == "Conflict" and err["data"]["activeDeploymentId"] == deployment_id, err
            # The same key on B replays A's start, without a second CreateDeployment.
            replayed = c.result("rollout.start", params)
            assert replayed["deploymentId"] == deployment_id and replayed["replayed"] is True
            assert [x["op"] for x in calls()].count("CreateDeployment") == 1
            # Hooks report through B as well (PutLifecycleEventHookExecutionStatus).
            c.result("rollout.reportHook", {"deploymentId": deployment_id, "hook": "beforeTraffic", "status": "Succeeded",
                                            "executionId": "exec-b"})
            assert [x["body"]["lifecycleEventHookExecutionId"] for x in calls()
                    if x["op"] == "PutLifecycleEventHookExecutionStatus"] == ["exec-b"]
            # B stops it through CodeDeploy itself (no owner to forward to).
            stop = {"deploymentId": deployment_id, "idempotencyKey": "cd-stop-1"}
            stopped = c.result("rollout.stop", stop)
            assert "replayed" not in stopped
            assert [x["body"] for x in calls() if x["op"] == "StopDeployment"] == [
                {"deploymentId": deployment_id, "autoRollbackEnabled": True}]
        with a.connect() as c:
            # The stop's key is fleet-wide too: A replays what B answered, and stops nothing more.
            assert c.result("rollout.stop", stop) == dict(stopped, replayed=True)
            assert [x["op"] for x in calls()].count("StopDeployment") == 1
            done_a = c.result("rollout.wait", {"deploymentId": deployment_id, "timeoutSeconds": 60}, timeout=70)
        # A's machine is gone (process and state directory): B still has everything.
        a.proc.send_signal(signal.SIGKILL)
        a.proc.wait(timeout=10)
        shutil.rmtree(a.root / "state")
        with b.connect() as c:
            done_b = c.result("rollout.wait", {"deploymentId": deployment_id, "timeoutSeconds": 60}, timeout=70)
        for done in (done_a, done_b):
            assert done["status"] == "Stopped" and done["error"]["code"] == "MANUAL_STOP" and done["rolledBack"] is True, done
        # The end was recorded once: the claim is gone, the record kept (purgeAt) and terminal.
        assert fleet_items(boto, table, "FLEET#ACTIVE") == []
        (state,) = fleet_items(boto, table, f"DEP#{deployment_id}")
        assert state["status"]["S"] == "Stopped" and "purgeAt" in state
        # The alias is free again, fleet-wide: B starts the next deployment and sees it end.
        configure(url, {"createScript": ["Created", "InProgress", "Succeeded"]})
        with b.connect() as c:
            again = c.result("rollout.start", start_params(lam, {"type": "allAtOnce"}))
            final = c.result("rollout.wait", {"deploymentId": again["deploymentId"], "timeoutSeconds": 60}, timeout=70)
            assert final["status"] == "Succeeded" and final["engine"] == "codedeploy", final
            listed = c.result("rollout.list", {"function": lam["name"]})["deployments"]
            assert [d["deploymentId"] for d in listed] == [again["deploymentId"], deployment_id], listed
        assert fleet_items(boto, table, "FLEET#ACTIVE") == []
        # CodeDeploy moves the alias, not rolloutd.
        assert alias_state(lam) == ("1", {})
    finally:
        for d in (a, b):
            if d.proc and d.proc.poll() is None:
                assert d.stop() == 0, d.log.read_text()[-3000:]
