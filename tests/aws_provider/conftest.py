"""Fixtures for the daemon on provider `aws`: moto_server and the strict IMDS fake, each on a
free loopback port, started by the tests themselves."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_moto():
    """A moto_server on a free loopback port: yields its URL, stops it after (killed when a
    loaded machine keeps it from exiting within 10 s of SIGTERM). The body of the `moto`
    fixtures here and in tests/fleet."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url + "/moto-api/", timeout=2)
            break
        except OSError:
            time.sleep(0.2)
    else:
        proc.kill()
        raise AssertionError("moto_server did not start")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def moto():
    yield from run_moto()


@pytest.fixture
def imds_fake():
    proc = subprocess.Popen([sys.executable, str(FIXTURES / "imds_strict.py")], stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def boto(moto):
    import boto3
    return lambda service: boto3.client(service, endpoint_url=moto, region_name="us-east-1",
                                        aws_access_key_id="testing", aws_secret_access_key="testing")


@pytest.fixture
def fault_proxy(moto):
    """tests/fixtures/fault_proxy.py in front of moto; yields (url, configure, stats)."""
    import json as _json
    proc = subprocess.Popen([sys.executable, str(FIXTURES / "fault_proxy.py"), "--target", moto, "--seed", "7",
                             "--exit-on-stdin-eof"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{int(proc.stdout.readline())}"

    def configure(**settings):
        req = urllib.request.Request(url + "/__config", data=_json.dumps(settings).encode(), method="POST")
        return _json.load(urllib.request.urlopen(req))

    def stats():
        return _json.load(urllib.request.urlopen(url + "/__stats"))

    yield url, configure, stats
    proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=10)
