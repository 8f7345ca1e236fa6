"""Lambda rollouts through rolloutd (native engine) against moto's Lambda, CloudWatch, SNS and SQS.

boto3 is the independent observer: it reads the alias while the daemon shifts traffic, scripts
hook results (moto's Docker-less "lambda-simple" backend answers Invoke with queued payloads),
sets alarm states, and drains the SQS queue subscribed to the notification topic.
"""
import io
import json
import signal
import threading
import time
import urllib.request
import uuid
import zipfile

import pytest

from .test_aws_provider import AWSDaemon, aws_env


class RolloutDaemon(AWSDaemon):
    def __init__(self, env, alarm_poll_secs=1, **kw):
        super().__init__(env, **kw)
        text = self.config.read_text()
        text = text.replace("[cloud.local]", f"[cloud.aws.rollout]\nalarm_poll_secs = {alarm_poll_secs}\n[cloud.local]")
        self.config.write_text(text)


def moto_post(moto, path, body):
    req = urllib.request.Request(moto + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        return resp.read()


def handler_zip():
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("handler.py", "def handler(event, context):\n    return {'status': 'Succeeded'}\n")
    return buffer.getvalue()


def lambda_role(moto, boto):
    """Turns off Docker for moto's Lambda and returns the ARN of the tests' execution role (made once)."""
    moto_post(moto, "/moto-api/config", {"lambda": {"use_docker": False}})
    iam = boto("iam")
    try:
        return iam.get_role(RoleName="rolloutd-rollout-tests")["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        policy = {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        return iam.create_role(RoleName="rolloutd-rollout-tests", AssumeRolePolicyDocument=json.dumps(policy))["Role"]["Arn"]


def create_function(client, role, name):
    """Creates `name` (version $LATEST, description v1)."""
    client.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="handler.handler",
                           Code={"ZipFile": handler_zip()}, Description="v1")
    return name


def function_with_two_versions(client, role, name):
    """Creates `name` with versions 1 and 2 and alias `live` on version 1."""
    create_function(client, role, name)
    assert client.publish_version(FunctionName=name)["Version"] == "1"
    client.update_function_configuration(FunctionName=name, Description="v2")
    assert client.publish_version(FunctionName=name)["Version"] == "2"
    client.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    return name


@pytest.fixture
def lam(moto, boto):
    """A fresh function with versions 1 and 2 and alias `live` on version 1."""
    role = lambda_role(moto, boto)
    client = boto("lambda")
    name = function_with_two_versions(client, role, "fn-" + uuid.uuid4().hex[:10])
    return {"name": name, "client": client, "make": lambda function_name: create_function(client, role, function_name)}


def alias_state(lam):
    alias = lam["client"].get_alias(FunctionName=lam["name"], Name="live")
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return alias["FunctionVersion"], {k: round(v, 6) for k, v in weights.items()}


class AliasWatcher:
    """Reads the alias with boto3 every 50 ms in a thread and keeps every distinct state seen."""

    def __init__(self, lam):
        self.lam, self.seen, self.stop_flag = lam, [], threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop_flag.is_set():
            version, weights = alias_state(self.lam)
            state = (version, tuple(sorted(weights.items())))
            if not self.seen or self.seen[-1] != state:
                self.seen.append(state)
            time.sleep(0.05)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=10)


def start_params(lam, strategy, **extra):
    params = {"function": lam["name"], "alias": "live", "targetVersion": "2", "strategy": strategy}
    params.update(extra)
    return params


@pytest.fixture
def daemon(moto):
    d = RolloutDaemon(aws_env(moto)).start()
    yield d
    if d.proc and d.proc.poll() is None:
        assert d.stop() == 0, d.log.read_text()[-3000:]


def never_split(seen, lam):
    """Every observed state is a valid point of the deployment: one version, or 1 + weight on 2."""
    for version, weights in seen:
        assert version in ("1", "2"), seen
        if weights:
            assert version == "1" and len(weights) == 1 and weights[0][0] == "2", seen


def test_canary_10_percent_then_all(daemon, lam):
    with AliasWatcher(lam) as watcher, daemon.connect() as c:
        started = c.result("rollout.start", start_params(lam, {"type": "canary", "percent": 10, "intervalSeconds": 1}))
        assert started["deploymentId"].startswith("d-") and started["status"] == "InProgress"
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
        time.sleep(0.2)
    assert done["status"] == "Succeeded" and done["weight"] == 1 and done["rolledBack"] is False
    assert ("1", (("2", 0.1),)) in watcher.seen, watcher.seen
    assert watcher.seen[-1] == ("2", ()), watcher.seen
    assert alias_state(lam) == ("2", {})
    never_split(watcher.seen, lam)
    types = [e["type"] for e in done["events"]]
    assert types[0] == "Start" and types[-1] == "Succeeded" and types.count("ShiftApplied") == 2


def test_linear_25_percent_every_second(daemon, lam):
    with AliasWatcher(lam) as watcher, daemon.connect() as c:
        started = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 25, "intervalSeconds": 1}))
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
        time.sleep(0.2)
    assert done["status"] == "Succeeded"
    weights_seen = [w[0][1] for v, w in watcher.seen if w]
    assert weights_seen == [0.25, 0.5, 0.75], watcher.seen
    assert watcher.seen[-1] == ("2", ())
    assert alias_state(lam) == ("2", {})
    never_split(watcher.seen, lam)


def test_plan_has_steps_and_checks_and_no_side_effects(daemon, lam):
    with daemon.connect() as c:
        plan = c.result("rollout.plan", start_params(lam, {"type": "linear", "percent": 25, "intervalSeconds": 2}))
        assert plan["steps"] == [{"atSeconds": 0, "weight": 0.25}, {"atSeconds": 2, "weight": 0.5},
                                 {"atSeconds": 4, "weight": 0.75}, {"atSeconds": 6, "weight": 1}]
        assert plan["estimatedSeconds"] == 6
        assert all(check["ok"] for check in plan["checks"]), plan["checks"]
        bad = c.result("rollout.plan", start_params(lam, {"type": "allAtOnce"}, targetVersion="9"))
        assert any(not check["ok"] and "9" in check["detail"] for check in bad["checks"]), bad
    assert alias_state(lam) == ("1", {})


def test_preflight_refuses_before_touching_the_alias(daemon, lam):
    with daemon.connect() as c:
        err = c.error("rollout.start", {"function": lam["name"], "alias": "nope", "targetVersion": "2",
                                        "strategy": {"type": "allAtOnce"}})
        assert err["data"]["reason"] == "PreconditionFailed" and "nope" in err["message"]
        err = c.error("rollout.start", start_params(lam, {"type": "allAtOnce"}, targetVersion="$LATEST"))
        assert err["data"]["reason"] == "PreconditionFailed" and "$LATEST" in err["message"]
        err = c.error("rollout.start", start_params(lam, {"type": "allAtOnce"}, targetVersion="7"))
        assert err["data"]["reason"] == "PreconditionFailed" and "7" in err["message"]
        err = c.error("rollout.start", start_params(lam, {"type": "linear", "percent": 0, "intervalSeconds": 1}))
        assert err["code"] == -32602 and "percent" in err["message"]
        err = c.error("rollout.start", start_params(lam, {"type": "canary", "percent": 10}))
        assert err["code"] == -32602 and "intervalSeconds" in err["message"]
        # Someone else split the alias: refused, and the split is left as found.
        lam["client"].update_alias(FunctionName=lam["name"], Name="live", FunctionVersion="1",
                                   RoutingConfig={"AdditionalVersionWeights": {"2": 0.3}})
        err = c.error("rollout.start", start_params(lam, {"type": "allAtOnce"}))
        assert err["data"]["reason"] == "PreconditionFailed" and "split" in err["message"]
        assert alias_state(lam) == ("1", {"2": 0.3})


def test_target_equal_to_current_is_skipped(daemon, lam):
    with daemon.connect() as c:
        started = c.result("rollout.start", start_params(lam, {"type": "allAtOnce"}, targetVersion="1"))
        assert started["status"] == "Succeeded"
        got = c.result("rollout.get", {"deploymentId": started["deploymentId"]})
        assert got["skipped"] is True and got["status"] == "Succeeded" and got["fromVersion"] == got["toVersion"] == "1"
    assert alias_state(lam) == ("1", {})


def test_publish_targets_a_new_version(daemon, lam):
    lam["client"].update_function_configuration(FunctionName=lam["name"], Description="v3")
    with daemon.connect() as c:
        started = c.result("rollout.start", {"function": lam["name"], "alias": "live", "publish": True,
                                             "strategy": {"type": "allAtOnce"}})
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=30)
    assert done["status"] == "Succeeded" and done["toVersion"] == "3"
    assert alias_state(lam) == ("3", {})


def test_before_traffic_hook_failure_rolls_back(moto, daemon, lam):
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    moto_post(moto, "/moto-api/static/lambda-simple/response",
              {"results": [json.dumps({"status": "Failed", "reason": "smoke test failed"})], "region": "us-east-1"})
    with daemon.connect() as c:
        started = c.result("rollout.start", start_params(
            lam, {"type": "canary", "percent": 10, "intervalSeconds": 1}, hooks={"beforeTraffic": hook}))
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
    assert done["status"] == "Failed" and done["error"]["code"] == "HOOK_EXECUTION_FAILURE", done
    assert "smoke test failed" in done["error"]["message"]
    assert done["rolledBack"] is True and done["weight"] == 0
    assert alias_state(lam) == ("1", {})


def test_after_traffic_hook_success_and_payload(moto, daemon, lam):
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    moto_post(moto, "/moto-api/static/lambda-simple/response",
              {"results": [json.dumps({"status": "Succeeded"})], "region": "us-east-1"})
    with daemon.connect() as c:
        started = c.result("rollout.start", start_params(lam, {"type": "allAtOnce"}, hooks={"afterTraffic": hook}))
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
    assert done["status"] == "Succeeded", done
    assert [e["type"] for e in done["events"] if e["type"].startswith("Hook")] == ["HookInvoked", "HookSucceeded"]
    assert alias_state(lam) == ("2", {})


def test_alarm_in_alarm_mid_rollout_stops_and_rolls_back(daemon, lam, boto):
    cw = boto("cloudwatch")
    alarm = "errors-" + uuid.uuid4().hex[:8]
    cw.put_metric_alarm(AlarmName=alarm, MetricName="Errors", Namespace="AWS/Lambda", Statistic="Sum", Period=60,
                        EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    cw.set_alarm_state(AlarmName=alarm, StateValue="OK", StateReason="test")
    with daemon.connect() as c:
        started = c.result("rollout.start", start_params(
            lam, {"type": "linear", "percent": 10, "intervalSeconds": 2}, alarms=[alarm]))
        deadline = time.monotonic() + 20
        while alias_state(lam)[1].get("2") is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert alias_state(lam)[1].get("2") is not None
        cw.set_alarm_state(AlarmName=alarm, StateValue="ALARM", StateReason="errors went up")
        done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
    assert done["status"] == "Stopped" and done["error"]["code"] == "ALARM_ACTIVE" and alarm in done["error"]["message"]
    assert done["rolledBack"] is True
    assert alias_state(lam) == ("1", {})


def test_stop_promote_pause_resume(daemon, lam):
    with daemon.connect() as c:
        first = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 30}))
        dep = first["deploymentId"]
        paused = c.result("rollout.pause", {"deploymentId": dep})
        assert paused["status"] == "InProgress"
        got = c.result("rollout.get", {"deploymentId": dep})
        assert got["paused"] is True and "nextStepAt" not in got
        c.result("rollout.resume", {"deploymentId": dep})
        got = c.result("rollout.get", {"deploymentId": dep})
        assert "paused" not in got and got["nextStepAt"] > got["startedAt"]
        stopped = c.result("rollout.stop", {"deploymentId": dep})
        assert stopped == {"deploymentId": dep, "status": "Stopped"}
        got = c.result("rollout.get", {"deploymentId": dep})
        assert got["error"]["code"] == "MANUAL_STOP" and got["rolledBack"] is True
        assert alias_state(lam) == ("1", {})
        again = c.result("rollout.stop", {"deploymentId": dep})
        assert again["status"] == "Stopped"

        second = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 30}))
        promoted = c.result("rollout.promote", {"deploymentId": second["deploymentId"]})
        assert promoted["status"] == "Succeeded"
        assert alias_state(lam) == ("2", {})
        listed = c.result("rollout.list", {"function": lam["name"]})["deployments"]
        assert [d["deploymentId"] for d in listed] == [second["deploymentId"], dep]
        assert [d["deploymentId"] for d in c.result("rollout.list", {"function": lam["name"], "status": "Stopped"})["deployments"]] == [dep]
        err = c.error("rollout.get", {"deploymentId": "d-NOSUCHTHING0"})
        assert err["data"]["reason"] == "NotFound"


def test_conflict_fail_and_rollback(daemon, lam):
    with daemon.connect() as c:
        first = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 30}))
        err = c.error("rollout.start", start_params(lam, {"type": "allAtOnce"}))
        assert err["data"]["reason"] == "Conflict" and err["data"]["activeDeploymentId"] == first["deploymentId"]
        assert alias_state(lam) == ("1", {"2": 0.1})
        second = c.result("rollout.start", start_params(lam, {"type": "allAtOnce"}, onConflict="rollback"))
        old = c.result("rollout.get", {"deploymentId": first["deploymentId"]})
        assert old["status"] == "Stopped" and old["rolledBack"] is True
        done = c.result("rollout.wait", {"deploymentId": second["deploymentId"]}, timeout=30)
        assert done["status"] == "Succeeded" and done["fromVersion"] == "1"
    assert alias_state(lam) == ("2", {})


def test_idempotent_start(daemon, lam):
    with daemon.connect() as c:
        params = start_params(lam, {"type": "linear", "percent": 50, "intervalSeconds": 30}, idempotencyKey="deploy-42")
        first = c.result("rollout.start", params)
        again = c.result("rollout.start", params)
        assert again["deploymentId"] == first["deploymentId"] and again.get("replayed") is True
        assert len(c.result("rollout.list", {"function": lam["name"]})["deployments"]) == 1
        c.result("rollout.stop", {"deploymentId": first["deploymentId"], "idempotencyKey": "stop-42"})


def test_wait_streams_progress_and_times_out_with_the_deployment(daemon, lam):
    with daemon.connect() as c:
        started = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 50, "intervalSeconds": 1}))
        dep = started["deploymentId"]
        c.request("rollout.wait", {"deploymentId": dep, "progressToken": "w1"}, id=900)
        progress, final = [], None
        while final is None:
            msg = c.read(timeout=30)
            if msg.get("method") == "$/progress":
                progress.append(msg["params"])
            elif msg.get("id") == 900:
                final = msg
        assert final["result"]["status"] == "Succeeded"
        assert all(p["progressToken"] == "w1" for p in progress)
        types = [p["event"]["type"] for p in progress]
        assert types[0] == "Start" and types[-1] == "Succeeded" and "ShiftApplied" in types
        assert progress[-1]["status"] == "Succeeded" and progress[-1]["weight"] == 1
        weights = [p["weight"] for p in progress]
        assert weights == sorted(weights) and weights[-1] == 1 and 0.5 in weights, weights

        slow = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 60},
                                                      targetVersion="1", onConflict="rollback"))
        # The alias is on 2 now; roll to 1 slowly and give up waiting after half a second.
        err = c.error("rollout.wait", {"deploymentId": slow["deploymentId"], "timeoutSeconds": 0.5})
        assert err["code"] == -32003
        assert err["data"]["deployment"]["deploymentId"] == slow["deploymentId"]
        assert err["data"]["deployment"]["status"] == "InProgress" and err["data"]["deployment"]["weight"] == 0.1
        c.result("rollout.stop", {"deploymentId": slow["deploymentId"]})


def drain(boto, queue_url):
    sqs, out = boto("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(json.loads(m["Body"])["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def topic(boto):
    sns, sqs = boto("sns"), boto("sqs")
    name = "rollouts-" + uuid.uuid4().hex[:8]
    topic_arn = sns.create_topic(Name=name)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def test_sns_exactly_once_per_event_across_a_restart(moto, lam, boto, topic):
    topic_arn, queue_url = topic
    d = RolloutDaemon(aws_env(moto)).start()
    try:
        with d.connect() as c:
            started = c.result("rollout.start", start_params(
                lam, {"type": "canary", "percent": 10, "intervalSeconds": 4}, notifyTopicArn=topic_arn))
        assert d.stop() == 0
        d.start()
        with d.connect() as c:
            done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
        assert done["status"] == "Succeeded"
        d.stop()
        d.start()  # a second restart publishes nothing new
        time.sleep(1)
    finally:
        d.stop()
    messages = drain(boto, queue_url)
    events = sorted(m["event"] for m in messages)
    assert events == ["DeploymentStart", "DeploymentSuccess"], messages
    assert all(m["deploymentId"] == started["deploymentId"] for m in messages)


def test_sigkill_mid_linear_rollout_resumes_and_never_splits(moto, lam):
    d = RolloutDaemon(aws_env(moto)).start()
    try:
        with AliasWatcher(lam) as watcher:
            with d.connect() as c:
                started = c.result("rollout.start", start_params(lam, {"type": "linear", "percent": 25, "intervalSeconds": 2}))
            deadline = time.monotonic() + 20
            while alias_state(lam)[1].get("2") != 0.5 and time.monotonic() < deadline:
                time.sleep(0.05)
            d.proc.send_signal(signal.SIGKILL)
            d.proc.wait(timeout=10)
            d.start()
            with d.connect() as c:
                done = c.result("rollout.wait", {"deploymentId": started["deploymentId"]}, timeout=60)
            time.sleep(0.2)
    finally:
        d.stop()
    assert done["status"] == "Succeeded", done
    assert alias_state(lam) == ("2", {})
    assert [w[0][1] for v, w in watcher.seen if w] == [0.25, 0.5, 0.75], watcher.seen
    never_split(watcher.seen, lam)
    assert "AliasObserved" in [e["type"] for e in done["events"]]


def test_results_match_the_openrpc_schemas(daemon, lam):
    """What the daemon sends validates against proto-json/rollout.openrpc.json (draft-07)."""
    from jsonschema import Draft7Validator
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    from ..openrpc.methods import load_document

    document = load_document()
    uri = "urn:rollout-openrpc"
    registry = Registry().with_resource(uri, Resource(contents=document, specification=DRAFT7))
    names = [m["name"] for m in document["methods"]]

    def check(pointer, value):
        validator = Draft7Validator({"$ref": f"{uri}#{pointer}"}, registry=registry)
        errors = [e.message for e in validator.iter_errors(value)]
        assert not errors, (pointer, errors, value)

    def result(method, value):
        check(f"/methods/{names.index(method)}/result/schema", value)

    with daemon.connect() as c:
        params = start_params(lam, {"type": "linear", "percent": 50, "intervalSeconds": 1})
        result("rollout.plan", c.result("rollout.plan", params))
        started = c.result("rollout.start", params)
        result("rollout.start", started)
        result("rollout.get", c.result("rollout.get", {"deploymentId": started["deploymentId"]}))
        c.request("rollout.wait", {"deploymentId": started["deploymentId"], "progressToken": 7}, id=77)
        while True:
            msg = c.read(timeout=30)
            if msg.get("method") == "$/progress":
                check("/components/schemas/RolloutProgress", msg["params"])
            elif msg.get("id") == 77:
                result("rollout.wait", msg["result"])
                break
        result("rollout.list", c.result("rollout.list", {"function": lam["name"]}))
        result("rollout.stop", c.result("rollout.stop", {"deploymentId": started["deploymentId"]}))


def test_plan_accepts_start_params_verbatim(daemon, lam):
    with daemon.connect() as c:
        plan = c.result("rollout.plan", start_params(lam, {"type": "allAtOnce"}, idempotencyKey="deploy-7"))
        assert plan["steps"] == [{"atSeconds": 0, "weight": 1}]
        err = c.error("rollout.get", {"deploymentId": "d-X", "idempotencyKey": "k"})
        assert err["code"] == -32602 and "idempotencyKey" in err["message"]


def test_health_reports_the_rollout_capability(daemon):
    with daemon.connect() as c:
        rollout = c.result("sys.health")["capabilities"]["rollout"]
    assert rollout["ok"] is True and "Lambda at" in rollout["detail"] and "engine native" in rollout["detail"]
