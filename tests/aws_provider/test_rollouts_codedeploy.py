"""The codedeploy rollout engine through rolloutd.

Against moto: the AppSpec, the deployment config choice, create/get/list and conflicts (moto keeps
every deployment in `Created`). moto cannot move a deployment along, stop it or take hook
reports (it answers HTTP 500 "not implemented"), so those run against the scripted fake
tests/fixtures/codedeploy_fake.py, with Lambda (the preflight) still on moto.
"""
import json
import subprocess
import sys
import urllib.request
import uuid

import pytest

from .conftest import FIXTURES
from .test_aws_provider import AWSDaemon, aws_env
from .test_rollouts import lam, moto_post  # noqa: F401 - the fixture is used by name


class CodeDeployDaemon(AWSDaemon):
    def __init__(self, env, application, group, **kw):
        super().__init__(env, **kw)
        text = self.config.read_text()
        text = text.replace("[cloud.local]", f'[cloud.aws.rollout]\nengine = "codedeploy"\n'
                                              f'codedeploy_application = "{application}"\n'
                                              f'codedeploy_deployment_group = "{group}"\n[cloud.local]')
        self.config.write_text(text)


@pytest.fixture
def group(boto):
    cd = boto("codedeploy")
    application = "app-" + uuid.uuid4().hex[:8]
    cd.create_application(applicationName=application, computePlatform="Lambda")
    cd.create_deployment_group(
        applicationName=application, deploymentGroupName="live", serviceRoleArn="arn:aws:iam::123456789012:role/cd",
        deploymentStyle={"deploymentType": "BLUE_GREEN", "deploymentOption": "WITH_TRAFFIC_CONTROL"})
    return application, "live"


def params(lam, strategy, **extra):
    p = {"function": lam["name"], "alias": "live", "targetVersion": "2", "strategy": strategy}
    p.update(extra)
    return p


def test_codedeploy_on_moto_appspec_config_get_list_conflict(moto, boto, lam, group):
    application, group_name = group
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    d = CodeDeployDaemon(aws_env(moto), application, group_name).start()
    try:
        with d.connect() as c:
            started = c.result("rollout.start", params(
                lam, {"type": "canary", "percent": 10, "intervalSeconds": 300}, hooks={"beforeTraffic": hook}))
            dep = started["deploymentId"]
            info = boto("codedeploy").get_deployment(deploymentId=dep)["deploymentInfo"]
            assert info["deploymentConfigName"] == "CodeDeployDefault.LambdaCanary10Percent5Minutes"
            content = info["revision"]["appSpecContent"]["content"]
            spec = json.loads(content)
            assert spec["version"] == "0.0"
            (resource,) = spec["Resources"]
            (body,) = resource.values()
            assert body == {"Type": "AWS::Lambda::Function", "Properties": {
                "Name": lam["name"], "Alias": "live", "CurrentVersion": "1", "TargetVersion": "2"}}
            assert spec["Hooks"] == [{"BeforeAllowTraffic": hook}]

            got = c.result("rollout.get", {"deploymentId": dep})
            assert got["engine"] == "codedeploy" and got["status"] in ("Created", "InProgress")
            assert got["fromVersion"] == "1" and got["toVersion"] == "2" and got["weight"] == 0
            assert [x["deploymentId"] for x in c.result("rollout.list", {"function": lam["name"]})["deployments"]] == [dep]
            assert dep in boto("codedeploy").list_deployments(applicationName=application,
                                                            deploymentGroupName=group_name)["deployments"]

            err = c.error("rollout.start", params(lam, {"type": "allAtOnce"}))
            assert err["data"]["reason"] == "Conflict" and err["data"]["activeDeploymentId"] == dep
            err = c.error("rollout.pause", {"deploymentId": dep})
            assert err["data"]["reason"] == "Unsupported"
            err = c.error("rollout.start", params(lam, {"type": "canary", "percent": 10, "intervalSeconds": 90}))
            assert err["code"] == -32602 and "intervalSeconds" in err["message"]
            err = c.error("rollout.reportHook", {"deploymentId": dep, "hook": "beforeTraffic", "status": "Succeeded"})
            assert err["code"] == -32602 and "executionId" in err["message"]
        # The alias is CodeDeploy's business: rolloutd did not touch it.
        assert lam["client"].get_alias(FunctionName=lam["name"], Name="live")["FunctionVersion"] == "1"
    finally:
        d.stop()


@pytest.fixture
def fake():
    proc = subprocess.Popen([sys.executable, str(FIXTURES / "codedeploy_fake.py"), "--exit-on-stdin-eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{int(proc.stdout.readline())}"

    def calls():
        return json.load(urllib.request.urlopen(url + "/__calls"))["calls"]

    yield url, calls
    proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=10)


def test_codedeploy_transitions_stop_and_report_hook_on_the_fake(moto, lam, fake):
    url, calls = fake
    d = CodeDeployDaemon(aws_env(moto, AWS_ENDPOINT_URL_CODEDEPLOY=url), "app", "live").start()
    try:
        with d.connect() as c:
            first = c.result("rollout.start", params(lam, {"type": "linear", "percent": 10, "intervalSeconds": 60}))
            c.request("rollout.wait", {"deploymentId": first["deploymentId"], "progressToken": "p"}, id=50)
            progress, done = [], None
            while done is None:
                msg = c.read(timeout=60)
                if msg.get("method") == "$/progress":
                    progress.append(msg["params"])
                elif msg.get("id") == 50:
                    done = msg["result"]
            assert done["status"] == "Succeeded" and done["weight"] == 1 and done["engine"] == "codedeploy"
            creates = [x for x in calls() if x["op"] == "CreateDeployment"]
            assert creates[0]["body"]["deploymentConfigName"] == "CodeDeployDefault.LambdaLinear10PercentEvery1Minute"

            second = c.result("rollout.start", params(lam, {"type": "canary", "percent": 20, "intervalSeconds": 120}))
            assert any(x["op"] == "CreateDeploymentConfig" for x in calls())
            c.result("rollout.reportHook", {"deploymentId": second["deploymentId"], "hook": "beforeTraffic",
                                            "status": "Succeeded", "executionId": "exec-1"})
            reported = [x for x in calls() if x["op"] == "PutLifecycleEventHookExecutionStatus"]
            assert reported[0]["body"] == {"deploymentId": second["deploymentId"],
                                           "lifecycleEventHookExecutionId": "exec-1", "status": "Succeeded"}
            c.result("rollout.stop", {"deploymentId": second["deploymentId"]})
            stops = [x for x in calls() if x["op"] == "StopDeployment"]
            assert stops[0]["body"] == {"deploymentId": second["deploymentId"], "autoRollbackEnabled": True}
            stopped = c.result("rollout.wait", {"deploymentId": second["deploymentId"]}, timeout=60)
            assert stopped["status"] == "Stopped" and stopped["error"]["code"] == "MANUAL_STOP"
            assert stopped["rolledBack"] is True
    finally:
        d.stop()
