"""The Python client library (clients/python/rolloutd) driving Lambda rollouts through the daemon
on moto: what an infrastructure-as-code provider does — start, stream progress, fail on
Failed/Stopped."""
import asyncio
import json
import uuid

import pytest

from tests.clients.support import CLIENT_DIR  # noqa: F401 - puts clients/python on sys.path

import rolloutd  # noqa: E402
from .test_rollouts import alias_state, daemon, lam, moto_post  # noqa: E402,F401 - fixtures


def test_canary_rollout_waits_with_progress(daemon, lam):
    events = []
    with rolloutd.Client(str(daemon.socket)) as client:
        plan = client.rollout_plan(lam["name"], "live", rolloutd.canary(10, 1), target_version="2")
        assert [s["weight"] for s in plan["steps"]] == [0.1, 1] and all(c["ok"] for c in plan["checks"])
        key = rolloutd.idempotency_key_for("deploy", lam["name"], "live", "2")
        started = client.rollout_start(lam["name"], "live", rolloutd.canary(10, 1), target_version="2",
                                       idempotency_key=key)
        assert started["status"] == "InProgress" and started["deploymentId"].startswith("d-")
        replay = client.rollout_start(lam["name"], "live", rolloutd.canary(10, 1), target_version="2",
                                      idempotency_key=key)
        assert replay["deploymentId"] == started["deploymentId"] and replay["replayed"] is True
        done = client.wait_for_rollout(started["deploymentId"], progress=events.append)
    assert done["status"] == "Succeeded" and done["weight"] == 1 and done["rolledBack"] is False
    assert events, "no progress events"
    types = [e["event"]["type"] for e in events]
    assert "ShiftApplied" in types and types[-1] == "Succeeded"
    assert 0.1 in [e["weight"] for e in events] and events[-1]["weight"] == 1
    assert len({e["progressToken"] for e in events}) == 1
    assert alias_state(lam) == ("2", {})


def test_failing_hook_raises_rollout_failed(moto, daemon, lam):
    hook = lam["make"]("hook-" + uuid.uuid4().hex[:8])
    moto_post(moto, "/moto-api/static/lambda-simple/response",
              {"results": [json.dumps({"status": "Failed"})], "region": "us-east-1"})
    events = []
    with rolloutd.Client(str(daemon.socket)) as client:
        started = client.rollout_start(lam["name"], "live", rolloutd.canary(10, 1), target_version="2",
                                       before_traffic_hook=hook)
        with pytest.raises(rolloutd.RolloutFailed) as info:
            client.wait_for_rollout(started["deploymentId"], progress=events.append)
    failure = info.value
    assert failure.error_code == "HOOK_EXECUTION_FAILURE" and failure.status == "Failed"
    assert failure.deployment["deploymentId"] == started["deploymentId"] and failure.deployment["rolledBack"] is True
    assert isinstance(failure, rolloutd.RolloutError) and failure.kind == "fatal"
    assert events and events[-1]["status"] == "Failed"
    assert alias_state(lam) == ("1", {})


def test_async_conflict_stop_and_wait(daemon, lam):
    async def main():
        async with rolloutd.AsyncClient(str(daemon.socket)) as client:
            first = await client.rollout_start(lam["name"], "live", rolloutd.linear(10, 30), target_version="2")
            with pytest.raises(rolloutd.Conflict) as info:
                await client.rollout_start(lam["name"], "live", rolloutd.all_at_once(), target_version="2")
            assert info.value.active_deployment_id == first["deploymentId"]
            with pytest.raises(rolloutd.DeadlineExceeded) as timeout:
                await client.wait_for_rollout(first["deploymentId"], timeout_seconds=0.5)
            assert timeout.value.deployment["status"] == "InProgress"
            waiter = asyncio.ensure_future(client.wait_for_rollout(first["deploymentId"]))
            stopped = await client.rollout_stop(first["deploymentId"])
            assert stopped["status"] == "Stopped"
            with pytest.raises(rolloutd.RolloutFailed) as failed:
                await asyncio.wait_for(waiter, 60)
            listed = await client.rollout_list(function=lam["name"])
            return failed.value, listed

    failure, listed = asyncio.run(main())
    assert failure.status == "Stopped" and failure.error_code == "MANUAL_STOP"
    assert [d["status"] for d in listed["deployments"]] == ["Stopped"]
    assert alias_state(lam) == ("1", {})
