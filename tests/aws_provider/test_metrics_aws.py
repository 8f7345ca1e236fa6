"""SPEC §6.1 on provider `aws`: /readyz is 503 while sys.health is degraded (no credentials),
AWS calls are counted by service, operation and status, and secret cache hits and misses."""
import time

from tests.aws_provider.test_aws_provider import AWSDaemon, aws_env, secrets  # noqa: F401 - fixture
from tests.aws_provider.test_credentials_health import no_credentials_env
from tests.metrics.http import free_port, http_config, request, scrape, value


def test_readyz_is_503_while_degraded_and_200_once_credentials_appear(moto, secrets, tmp_path):  # noqa: F811
    port = free_port()
    d = AWSDaemon(no_credentials_env(moto, tmp_path), extra_server=http_config(port)).start()
    try:
        status, body, _ = request(port, "/readyz")
        assert status == 503, body
        assert body.startswith("not ready: degraded; "), body
        assert "no AWS credentials found" in body
        assert request(port, "/livez")[0] == 200

        (tmp_path / "credentials").write_text(
            "[default]\naws_access_key_id = AKIDLATER\naws_secret_access_key = later-secret-value\n")
        deadline = time.monotonic() + 5
        while request(port, "/readyz")[0] != 200:
            assert time.monotonic() < deadline, "readyz did not recover"
            time.sleep(0.2)
    finally:
        assert d.stop() == 0
    assert "later-secret-value" not in d.log.read_text()


def test_aws_calls_and_secret_cache_are_counted(moto, secrets):  # noqa: F811
    port = free_port()
    d = AWSDaemon(aws_env(moto), extra_server=http_config(port)).start()
    try:
        with d.connect() as c:
            assert c.result("secret.get", {"name": "app/db"})["value"] == "v2-password"
            assert c.result("secret.get", {"name": "app/db"})["cached"] is True
            assert c.error("secret.get", {"name": "not/allowed"})["data"]["reason"]
        samples, types = scrape(port)
        assert types["rolloutd_aws_calls"] == "counter"
        calls = "rolloutd_aws_calls_total"
        assert value(samples, calls, service="secrets_manager", operation="GetSecretValue", status="200") == 1
        assert value(samples, "rolloutd_secret_cache_hits_total") == 1
        assert value(samples, "rolloutd_secret_cache_misses_total") == 1
        assert value(samples, "rolloutd_rpc_requests_total", method="secret.get", outcome="ok") == 2
        labels = {dict(k[1]).get("service") for k in samples if k[0] == calls}
        assert labels <= {"secrets_manager", "sqs", "s3", "sts", "lambda", "cloudwatch", "sns", "codedeploy"}, labels
    finally:
        assert d.stop() == 0
