"""rolloutd on provider `aws`: Secrets Manager (moto), compute.hint over IMDSv2 (moto's metadata
endpoint, and a strict fake for the token rules moto does not enforce), sys.health."""
import base64
import json
import os
import subprocess
import urllib.request

import pytest

from tests.conftest import BIN_DIR, Daemon


class AWSDaemon(Daemon):
    def __init__(self, env, secrets_allowlist=("app/db", "app/blob"), cache_ttl=300, max_attempts=3, **kw):
        super().__init__(provider="aws", **kw)
        allow = ", ".join(f'"{n}"' for n in secrets_allowlist)
        text = self.config.read_text()
        text = text.replace("[cloud.local]", f"region = \"us-east-1\"\n[cloud.aws]\nmax_attempts = {max_attempts}\n"
                                              f"[cloud.aws.secrets]\nallowlist = [{allow}]\n"
                                              f"cache_ttl_secs = {cache_ttl}\n[cloud.local]")
        self.config.write_text(text)
        self.env = env

    def start(self, wait=True, expect_ready=True):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update(self.env)
        self.proc = subprocess.Popen(
            [str(BIN_DIR / "rolloutd"), "--config", str(self.config), "--log-level", "debug"],
            stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), cwd=self.root, env=environ,
        )
        if wait:
            self.wait_ready(expect_ready)
        return self


def aws_env(moto, **extra):
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
           "AWS_ENDPOINT_URL": moto, "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
           "AWS_EC2_METADATA_DISABLED": "true"}
    env.update(extra)
    return env


@pytest.fixture
def secrets(boto):
    sm = boto("secretsmanager")
    for name in ["app/db", "app/blob"]:
        try:
            sm.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        except Exception:  # noqa: BLE001 - absent is fine
            pass
    sm.create_secret(Name="app/db", SecretString="v1-password")
    sm.put_secret_value(SecretId="app/db", SecretString="v2-password")
    sm.create_secret(Name="app/blob", SecretBinary=b"\x00\x01\xfe\xff")
    return sm


def test_secrets_through_the_daemon(moto, secrets):
    d = AWSDaemon(aws_env(moto)).start()
    try:
        with d.connect() as c:
            cur = c.result("secret.get", {"name": "app/db"})
            assert cur["value"] == "v2-password" and "AWSCURRENT" in cur["versionStages"]
            assert cur["cached"] is False and cur["stale"] is False
            again = c.result("secret.get", {"name": "app/db"})
            assert again["cached"] is True and again["value"] == "v2-password"
            prev = c.result("secret.get", {"name": "app/db", "versionStage": "AWSPREVIOUS"})
            assert prev["value"] == "v1-password"
            blob = c.result("secret.get", {"name": "app/blob"})
            assert base64.b64decode(blob["binary"]) == b"\x00\x01\xfe\xff" and "value" not in blob
            for name in ["other", "APP/DB", "app/db ", "arn:aws:secretsmanager:us-east-1:123456789012:secret:app/db"]:
                err = c.error("secret.get", {"name": name})
                assert err["data"]["reason"] == "ConfigInvalid"
                assert "[cloud.aws.secrets].allowlist" in err["message"]
            assert c.error("secret.put", {"name": "app/db"})["data"]["reason"] == "ReadOnly"
            health = c.result("sys.health")
            assert health["provider"] == "aws" and health["credentials"]["source"] == "env"
    finally:
        assert d.stop() == 0
    log = d.log.read_text()
    for leaked in ["v1-password", "v2-password", "testing-secret-value"]:
        assert leaked not in log


def test_missing_secret_is_not_found(moto, secrets):
    secrets.delete_secret(SecretId="app/blob", ForceDeleteWithoutRecovery=True)
    d = AWSDaemon(aws_env(moto)).start()
    try:
        with d.connect() as c:
            err = c.error("secret.get", {"name": "app/blob"})
            assert err["data"]["reason"] == "NotFound"
            assert err["data"]["upstream"]["service"] in ("secretsmanager", "Secrets Manager", "secrets_manager")
    finally:
        assert d.stop() == 0


def test_compute_hint_from_moto_metadata(moto):
    env = aws_env(moto, AWS_EC2_METADATA_DISABLED="false", AWS_EC2_METADATA_SERVICE_ENDPOINT=moto)
    d = AWSDaemon(env).start()
    try:
        with d.connect() as c:
            hint = c.result("compute.hint")
            assert hint["provider"] == "aws" and hint["source"] == "imdsv2"
            assert hint["region"] == "us-east-1" and hint["instanceId"] == "i-fake"
            assert hint["cpus"] >= 1 and hint["memoryBytes"] > 0
    finally:
        assert d.stop() == 0


def test_compute_hint_imdsv2_token_rules(moto, imds_fake):
    env = aws_env(moto, AWS_EC2_METADATA_DISABLED="false", AWS_EC2_METADATA_SERVICE_ENDPOINT=imds_fake)
    d = AWSDaemon(env).start()
    try:
        with d.connect() as c:
            hint = c.result("compute.hint")
            assert hint["source"] == "imdsv2" and hint["region"] == "eu-west-1"
            assert hint["availabilityZone"] == "eu-west-1b" and hint["instanceType"] == "c7g.large"
            assert hint["lifecycle"] == "spot" and "interruption" not in hint
            urllib.request.urlopen(urllib.request.Request(imds_fake + "/__expire", method="POST"))
            urllib.request.urlopen(urllib.request.Request(imds_fake + "/__interrupt", method="POST"))
            hint = c.result("compute.hint")
            assert hint["interruption"] == {"action": "terminate", "time": "2026-11-22T20:00:00Z"}
    finally:
        assert d.stop() == 0
    log = json.load(urllib.request.urlopen(imds_fake + "/__log"))
    gets = [e for e in log if e["method"] == "GET"]
    puts = [e for e in log if e["method"] == "PUT"]
    assert gets and all(e["token"] for e in gets), "a token-less (IMDSv1) GET was made"
    assert len(puts) == 2  # the first token, then one refresh after the 401
    assert sum(1 for e in gets if e["path"].endswith("spot/instance-action")) >= 2


def test_compute_hint_off_ec2_is_local(moto):
    env = aws_env(moto, AWS_EC2_METADATA_DISABLED="false", AWS_EC2_METADATA_SERVICE_ENDPOINT="http://127.0.0.1:9")
    d = AWSDaemon(env).start()
    try:
        with d.connect() as c:
            hint = c.result("compute.hint")
            assert hint["source"] == "local" and hint["provider"] == "aws" and hint["cpus"] >= 1
    finally:
        assert d.stop() == 0


def test_rollouts_not_yet_served_on_aws_objects_unavailable(moto):
    d = AWSDaemon(aws_env(moto)).start()
    try:
        with d.connect() as c:
            assert c.error("object.head", {"key": "k"})["data"]["reason"] == "Unsupported"
    finally:
        assert d.stop() == 0


def test_faults_between_daemon_and_moto_are_retried(moto, secrets, fault_proxy):
    url, configure, stats = fault_proxy
    # 40% of attempts fail: with 3 attempts a call fails 6.4% of the time, so allow 10 here
    # (the longest run of failures with this seed is far shorter).
    d = AWSDaemon(aws_env(moto, AWS_ENDPOINT_URL=url), cache_ttl=0, max_attempts=10).start()
    try:
        with d.connect() as c:
            configure(slowdown=0.15, throttle=0.15, reset=0.1)
            values = [c.result("secret.get", {"name": "app/db", "refresh": True})["value"] for _ in range(30)]
            assert values == ["v2-password"] * 30
            injected = stats()["injected"]
            assert sum(injected.values()) > 0, injected
    finally:
        assert d.stop() == 0


def test_exhausted_retries_are_throttled_with_a_hint(moto, secrets, fault_proxy):
    url, configure, stats = fault_proxy
    d = AWSDaemon(aws_env(moto, AWS_ENDPOINT_URL=url), cache_ttl=0, max_attempts=2).start()
    try:
        with d.connect() as c:
            configure(throttle=1.0)
            err = c.error("secret.get", {"name": "app/db", "refresh": True}, timeout=60)
            assert err["data"]["reason"] == "Throttled" and err["data"]["kind"] == "recoverable"
            assert err["data"]["retryAfterMs"] > 0
            assert err["data"]["upstream"]["code"] == "ThrottlingException"
            assert stats()["injected"]["throttle"] == 2  # max_attempts = 2
            health = c.result("sys.health")
            assert health["status"] == "degraded" and health["capabilities"]["secrets"]["ok"] is False
            configure(throttle=0)
            assert c.result("secret.get", {"name": "app/db", "refresh": True})["value"] == "v2-password"
            assert c.result("sys.health")["status"] == "ok"
    finally:
        assert d.stop() == 0


def mapped_libcurl(pid):
    with open(f"/proc/{pid}/maps") as maps:
        return sorted({line.split()[-1] for line in maps if "libcurl" in line})


def test_libcurl_is_loaded_by_the_aws_provider_only(moto, secrets):
    """rolloutd does not link libcurl (about 4 MiB of RSS with its dependencies); it loads it with
    dlopen when the AWS provider makes its HTTP client. A local-provider daemon never maps it."""
    local = Daemon().start()
    try:
        with local.connect() as c:
            c.result("object.put", {"key": "k", "text": "x"})
            assert c.result("sys.health")["provider"] == "local"
        assert mapped_libcurl(local.proc.pid) == []
    finally:
        assert local.stop() == 0
    aws = AWSDaemon(aws_env(moto)).start()
    try:
        with aws.connect() as c:
            assert c.result("secret.get", {"name": "app/db"})["value"] == "v2-password"
        assert any("libcurl.so.4" in path for path in mapped_libcurl(aws.proc.pid))
    finally:
        assert aws.stop() == 0
