"""The fault proxy (tests/fixtures/fault_proxy.py) in front of moto, checked with boto3.

The Swift tests (Tests/RolloutAWSTests/SecretsManagerTests.swift) use it to prove retries,
single flight and allowlist refusals; these tests pin down the proxy's own behaviour, and that
botocore classifies each injected fault the way our client does (retryable, with the same code).
"""
import http.client
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import botocore.config
import botocore.exceptions
import pytest

HERE = Path(__file__).resolve().parent
PROXY = HERE.parent / "fixtures" / "fault_proxy.py"
MOTO_RUNNER = HERE / "moto_runner.py"


def spawn(args):
    proc = subprocess.Popen(
        [sys.executable, *map(str, args), "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        raise RuntimeError(f"{args[0]} did not print a port")
    return proc, int(line)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@pytest.fixture(scope="module")
def moto_url():
    proc, port = spawn([MOTO_RUNNER])
    yield f"http://127.0.0.1:{port}"
    stop(proc)


class Proxy:
    def __init__(self, target, *args):
        self.proc, self.port = spawn([PROXY, "--target", target, *args])
        self.url = f"http://127.0.0.1:{self.port}"

    def _call(self, method, path, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=json.dumps(body) if body is not None else None)
            response = conn.getresponse()
            return response.status, json.loads(response.read() or b"{}")
        finally:
            conn.close()

    def stats(self):
        return self._call("GET", "/__stats")[1]

    def configure(self, **update):
        return self._call("POST", "/__config", update)

    def reset_stats(self):
        return self._call("POST", "/__reset", {})


@pytest.fixture
def proxy_factory(moto_url):
    proxies = []

    def make(*args):
        proxy = Proxy(moto_url, *args)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        stop(proxy.proc)


def client(service, url, max_attempts=1):
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIDPROXYTEST", aws_secret_access_key="proxy-test-secret",
        config=botocore.config.Config(
            # total_max_attempts counts the first try; botocore's max_attempts key counts retries.
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            s3={"addressing_style": "path"}, connect_timeout=5, read_timeout=10,
        ),
    )


def test_forwards_everything_and_counts(proxy_factory):
    proxy = proxy_factory()
    sm = client("secretsmanager", proxy.url)
    sm.create_secret(Name="proxy/fwd", SecretString="forwarded-value")
    assert sm.get_secret_value(SecretId="proxy/fwd")["SecretString"] == "forwarded-value"
    stats = proxy.stats()
    assert stats["total"] == 2 and stats["forwarded"] == 2
    assert stats["byTarget"] == {"secretsmanager.CreateSecret": 1, "secretsmanager.GetSecretValue": 1}
    assert stats["byPath"] == {"/": 2}
    assert stats["injected"] == {"slowdown": 0, "throttle": 0, "reset": 0}
    # Control endpoints are not counted; /__reset zeroes the counters.
    assert proxy.stats()["total"] == 2
    proxy.reset_stats()
    assert proxy.stats()["total"] == 0


def test_streams_large_s3_bodies_both_ways(proxy_factory):
    proxy = proxy_factory()
    s3 = client("s3", proxy.url)
    s3.create_bucket(Bucket="proxy-large")
    body = bytes(range(256)) * 40_000  # ~10 MB
    s3.put_object(Bucket="proxy-large", Key="big", Body=body)
    assert s3.get_object(Bucket="proxy-large", Key="big")["Body"].read() == body
    head = s3.head_object(Bucket="proxy-large", Key="big")
    assert head["ContentLength"] == len(body)


def test_throttle_is_a_json_throttling_exception_botocore_retries(proxy_factory):
    proxy = proxy_factory("--throttle", "1.0", "--retry-after-ms", "10")
    sm = client("secretsmanager", proxy.url, max_attempts=2)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.get_secret_value(SecretId="proxy/any")
    error = caught.value.response
    assert error["Error"]["Code"] == "ThrottlingException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["ResponseMetadata"]["HTTPHeaders"]["x-amz-retry-after"] == "10"
    assert error["ResponseMetadata"]["RetryAttempts"] == 1, "botocore retried it once"
    stats = proxy.stats()
    assert stats["total"] == 2 and stats["forwarded"] == 0 and stats["injected"]["throttle"] == 2


def test_slowdown_is_an_s3_xml_503_botocore_retries(proxy_factory):
    proxy = proxy_factory("--slowdown", "1.0")
    s3 = client("s3", proxy.url, max_attempts=2)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.list_buckets()
    error = caught.value.response
    assert error["Error"]["Code"] == "SlowDown"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert error["ResponseMetadata"]["RequestId"].startswith("FAULT")
    assert error["ResponseMetadata"]["RetryAttempts"] == 1
    assert proxy.stats()["injected"]["slowdown"] == 2


def test_reset_closes_without_a_response(proxy_factory):
    proxy = proxy_factory("--reset", "1.0")
    with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as sock:
        sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
        try:
            data = sock.recv(1024)
        except ConnectionResetError:
            data = b""
        assert data == b""
    sm = client("secretsmanager", proxy.url, max_attempts=2)
    with pytest.raises((botocore.exceptions.ConnectionClosedError, botocore.exceptions.EndpointConnectionError)):
        sm.get_secret_value(SecretId="proxy/any")
    stats = proxy.stats()
    assert stats["injected"]["reset"] == 3 and stats["forwarded"] == 0


def test_only_path_regex_targets_upload_part(proxy_factory):
    proxy = proxy_factory("--slowdown", "1.0", "--only-path-regex", r"^PUT .*[?&]partNumber=")
    s3 = client("s3", proxy.url)
    s3.create_bucket(Bucket="proxy-mpu")
    s3.put_object(Bucket="proxy-mpu", Key="plain", Body=b"not a part")
    upload = s3.create_multipart_upload(Bucket="proxy-mpu", Key="multi")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        s3.upload_part(Bucket="proxy-mpu", Key="multi", UploadId=upload["UploadId"], PartNumber=1, Body=b"x" * 1024)
    assert caught.value.response["Error"]["Code"] == "SlowDown"
    s3.abort_multipart_upload(Bucket="proxy-mpu", Key="multi", UploadId=upload["UploadId"])
    stats = proxy.stats()
    assert stats["injected"] == {"slowdown": 1, "throttle": 0, "reset": 0}
    assert stats["byMethodPath"]["PUT /proxy-mpu/multi"] == 1
    assert stats["forwarded"] == stats["total"] - 1


def test_seeded_shares_are_reproducible(proxy_factory):
    def run():
        proxy = proxy_factory("--slowdown", "0.2", "--throttle", "0.2", "--reset", "0.1", "--seed", "42")
        outcomes = []
        for _ in range(60):
            conn = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=5)
            try:
                conn.request("POST", "/", body=b"{}", headers={"X-Amz-Target": "secretsmanager.ListSecrets"})
                outcomes.append(conn.getresponse().status)
            except (ConnectionError, http.client.HTTPException):
                outcomes.append("reset")
            finally:
                conn.close()
        return outcomes, proxy.stats()

    first, stats = run()
    second, _ = run()
    assert first == second
    injected = stats["injected"]
    assert stats["total"] == 60
    assert injected["slowdown"] == first.count(503)
    assert injected["reset"] == first.count("reset")
    assert injected["throttle"] == first.count(400)
    assert 10 <= injected["slowdown"] + injected["throttle"] <= 40, "about 40% of 60"


def test_runtime_config_and_validation(proxy_factory, moto_url):
    proxy = proxy_factory()
    status, body = proxy.configure(slowdown=0.7, throttle=0.7)
    assert status == 400 and "exceed" in body["error"]
    status, body = proxy.configure(throttle=1.0, delayMs=0)
    assert status == 200 and body["throttle"] == 1.0
    sm = client("secretsmanager", proxy.url)
    with pytest.raises(botocore.exceptions.ClientError):
        sm.list_secrets()
    proxy.configure(throttle=0.0)
    sm.list_secrets()
    # Pointing the proxy at a dead port makes it answer 502 (what "moto stopped" looks like).
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = probe.getsockname()[1]
    proxy.configure(target=f"http://127.0.0.1:{dead}")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        sm.list_secrets()
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 502
    assert proxy.stats()["upstreamErrors"] == 1
    proxy.configure(target=moto_url)
    sm.list_secrets()


def test_delay_holds_forwarded_requests(proxy_factory):
    proxy = proxy_factory("--delay-ms", "300")
    sm = client("secretsmanager", proxy.url)
    started = time.monotonic()
    sm.list_secrets()
    assert time.monotonic() - started >= 0.3
