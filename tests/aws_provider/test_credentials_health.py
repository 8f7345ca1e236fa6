"""rolloutd on provider `aws` and its credentials as sys.health reports them: degraded with the
chain's error while no credentials can be had, healthy again without a restart once they
appear; the source names of SPEC §2.2; health probes that do not hammer IMDS."""
import json
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.aws_provider.test_aws_provider import AWSDaemon, aws_env, secrets  # noqa: F401 - fixture

PROCESS = Path(__file__).resolve().parents[1] / "fixtures" / "credential_process_fake.py"
SIGNED = ("secrets", "rollout")


def no_credentials_env(moto, home, **extra):
    env = aws_env(moto, HOME=str(home), AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
                  AWS_CONFIG_FILE=str(home / "config"), **extra)
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    return env


def wait_for_health(conn, status, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        health = conn.result("sys.health")
        if health["status"] == status or time.monotonic() > deadline:
            return health
        time.sleep(0.1)


def test_degraded_without_credentials_then_healthy_when_the_credentials_file_appears(moto, secrets, tmp_path):  # noqa: F811
    d = AWSDaemon(no_credentials_env(moto, tmp_path)).start()
    try:
        with d.connect() as c:
            health = c.result("sys.health")
            assert health["status"] == "degraded"
            assert "credentials" not in health
            for name in SIGNED:
                capability = health["capabilities"][name]
                assert capability["ok"] is False
                assert capability["lastError"].startswith("ConfigInvalid: no AWS credentials found; tried, in order: env")
                for source in ("assume-role", "web-identity", "sso", "shared-credentials-file", "process", "config-file",
                               "container", "imds"):
                    assert source in capability["lastError"]
                assert str(tmp_path / "credentials") in capability["lastError"]
            # IMDS is disabled here, and compute hints need no credentials.
            assert health["capabilities"]["compute"]["ok"] is True
            err = c.error("secret.get", {"name": "app/db"})
            assert err["data"]["reason"] == "ConfigInvalid"
            assert "no AWS credentials found" in err["message"]

            (tmp_path / "credentials").write_text(
                "[default]\naws_access_key_id = AKIDLATER\naws_secret_access_key = later-secret-value\n")
            started = time.monotonic()
            health = wait_for_health(c, "ok")
            assert health["status"] == "ok", health
            assert time.monotonic() - started < 3  # failures are remembered for a second only
            assert health["credentials"] == {"source": "shared-credentials-file"}
            assert all(health["capabilities"][name]["ok"] for name in SIGNED)
            assert c.result("secret.get", {"name": "app/db"})["value"] == "v2-password"
    finally:
        assert d.stop() == 0
    assert "later-secret-value" not in d.log.read_text()


def test_credential_process_source_and_expiry(moto, secrets, tmp_path):  # noqa: F811
    (tmp_path / "config").write_text(
        f"[default]\ncredential_process = {sys.executable} {PROCESS} ok --key AKIDPROC --expires-in 3600\n")
    d = AWSDaemon(no_credentials_env(moto, tmp_path)).start()
    try:
        with d.connect() as c:
            assert c.result("secret.get", {"name": "app/db"})["value"] == "v2-password"
            health = c.result("sys.health")
            assert health["status"] == "ok"
            assert health["credentials"]["source"] == "process"
            assert health["credentials"]["expiresAt"].endswith("Z")
    finally:
        assert d.stop() == 0
    assert "process-secret-value" not in d.log.read_text()


def test_failing_credential_process_is_degraded_without_echoing_output_then_recovers(moto, secrets, tmp_path):  # noqa: F811
    (tmp_path / "config").write_text(f"[default]\ncredential_process = {sys.executable} {PROCESS} fail\n")
    d = AWSDaemon(no_credentials_env(moto, tmp_path)).start()
    try:
        with d.connect() as c:
            # A call that fails for want of credentials (recoverably) is remembered by the
            # capability too...
            err = c.error("secret.get", {"name": "app/db"})
            assert err["data"]["reason"] == "Unavailable" and "exited with status 3" in err["message"]
            health = c.result("sys.health")
            assert health["status"] == "degraded"
            message = health["capabilities"]["secrets"]["lastError"]
            assert message.startswith("Unavailable: the credential_process of AWS profile default")
            assert "exited with status 3" in message
            assert "secret-value" not in json.dumps(health) + json.dumps(err)
            # ... and cleared with the credential error once the program works.
            (tmp_path / "config").write_text(f"[default]\ncredential_process = {sys.executable} {PROCESS} ok\n")
            health = wait_for_health(c, "ok")
            assert health["status"] == "ok", health
            assert health["credentials"] == {"source": "process"}
    finally:
        assert d.stop() == 0
    assert "secret-value" not in d.log.read_text()


def test_health_probes_do_not_hammer_imds(moto, imds_fake, tmp_path):
    env = no_credentials_env(moto, tmp_path, AWS_EC2_METADATA_DISABLED="false",
                             AWS_EC2_METADATA_SERVICE_ENDPOINT=imds_fake)
    d = AWSDaemon(env).start()
    try:
        with d.connect() as c:
            started = time.monotonic()
            for _ in range(40):
                health = c.result("sys.health")
                assert health["status"] == "degraded"
                assert "imds (EC2 instance role via IMDSv2 at " + imds_fake in health["capabilities"]["secrets"]["lastError"]
            elapsed = time.monotonic() - started
    finally:
        assert d.stop() == 0
    log = json.load(urllib.request.urlopen(imds_fake + "/__log"))
    lookups = [e for e in log if e["method"] == "GET" and "security-credentials" in e["path"]]
    # One look-up per second at most (plus the first).
    assert 1 <= len(lookups) <= int(elapsed) + 2, (len(lookups), elapsed)


@pytest.mark.parametrize("explicit", [False, True])
def test_env_and_explicit_profile(moto, secrets, tmp_path, explicit):  # noqa: F811
    (tmp_path / "credentials").write_text(
        "[static]\naws_access_key_id = AKIDSTATIC\naws_secret_access_key = static-secret-value\n")
    env = aws_env(moto, HOME=str(tmp_path), AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "credentials"),
                  AWS_PROFILE="static")
    d = AWSDaemon(env)
    if explicit:
        d.config.write_text(d.config.read_text().replace("[cloud.aws]\n", "[cloud.aws]\nprofile = \"static\"\n"))
    d.start()
    try:
        with d.connect() as c:
            assert c.result("secret.get", {"name": "app/db"})["value"] == "v2-password"
            # botocore: a profile named explicitly (aws --profile) ignores AWS_ACCESS_KEY_ID.
            expected = "shared-credentials-file" if explicit else "env"
            assert c.result("sys.health")["credentials"]["source"] == expected
    finally:
        assert d.stop() == 0
