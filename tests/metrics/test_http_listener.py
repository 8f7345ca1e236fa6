"""SPEC §6.1: `[server.http] listen` serves /metrics (scraped and parsed with prometheus_client's
text parser), /livez and /readyz; probes through a drain; a non-loopback address is a warning."""
import json
import signal
import socket
import time

import pytest

from tests.conftest import Daemon

from .http import free_port, http_config, request, scrape, value


@pytest.fixture
def served():
    port = free_port()
    d = Daemon(extra_server=http_config(port))
    (d.local_root / "secrets.toml").write_text('"demo/token" = "not-a-real-secret"\n')
    d.start()
    yield d, port
    code = d.stop()
    assert code == 0, f"rolloutd exited {code}: {d.log.read_text()[-3000:]}"


def test_metrics_count_requests_by_method_and_outcome(served):
    d, port = served
    # Startup's readiness check pinged once already.
    pings = value(scrape(port)[0], "rolloutd_rpc_requests_total", method="sys.ping", outcome="ok")
    with d.connect() as c:
        for _ in range(3):
            c.result("sys.ping")
        assert c.error("no.such.method")["code"] == -32601
        assert c.error("object.get", {"key": "missing"})["data"]["reason"] == "NotFound"
        put = {"key": "k", "text": "hello", "idempotencyKey": "metrics-1"}
        first = c.result("object.put", put)
        again = c.result("object.put", put)
        assert again.get("replayed") is True and "replayed" not in first
        assert c.result("object.get", {"key": "k"})["size"] == 5
        c.result("secret.get", {"name": "demo/token"})

        samples, types = scrape(port)

        requests = "rolloutd_rpc_requests_total"
        assert types["rolloutd_rpc_requests"] == "counter"
        assert value(samples, requests, method="sys.ping", outcome="ok") == pings + 3
        # Unregistered methods share one label value: clients cannot grow the label set.
        assert value(samples, requests, method="other", outcome="MethodNotFound") == 1
        assert not [k for k in samples if ("method", "no.such.method") in k[1]]
        assert value(samples, requests, method="object.get", outcome="NotFound") == 1
        assert value(samples, requests, method="object.get", outcome="ok") == 1
        # The replay is answered (ok) and counted as a replay.
        assert value(samples, requests, method="object.put", outcome="ok") == 2
        assert value(samples, "rolloutd_idempotency_replays_total", method="object.put") == 1
        assert value(samples, requests, method="secret.get", outcome="ok") == 1

        assert types["rolloutd_rpc_request_duration_seconds"] == "histogram"
        duration = "rolloutd_rpc_request_duration_seconds"
        assert value(samples, duration + "_count", method="sys.ping") == pings + 3
        assert value(samples, duration + "_bucket", method="sys.ping", le="+Inf") == pings + 3
        assert 0 < value(samples, duration + "_sum", method="sys.ping") < 3

        # The put replay did not store again: 5 bytes up, 5 down.
        assert value(samples, "rolloutd_object_uploaded_bytes_total") == 5
        assert value(samples, "rolloutd_object_downloaded_bytes_total") == 5
        # The local provider has no secret cache: every read is a miss.
        assert value(samples, "rolloutd_secret_cache_misses_total") == 1
        assert value(samples, "rolloutd_secret_cache_hits_total") in (None, 0)

        assert types["rolloutd_rpc_open_connections"] == "gauge"
        assert value(samples, "rolloutd_rpc_open_connections") == 1
        assert value(samples, "rolloutd_rpc_inflight_requests") == 0

    # The connection's close shows in the gauge.
    deadline = time.monotonic() + 5
    while value(scrape(port)[0], "rolloutd_rpc_open_connections") != 0:
        assert time.monotonic() < deadline, "open connections did not go back to 0"
        time.sleep(0.05)


def test_probes_and_errors(served):
    d, port = served
    assert request(port, "/livez")[:2] == (200, "ok\n")
    status, body, _ = request(port, "/readyz")
    assert (status, body) == (200, "ready\n")
    assert request(port, "/readyz?verbose=1")[0] == 200
    assert request(port, "/")[0] == 404
    assert request(port, "/metricsx")[0] == 404
    status, _, headers = request(port, "/metrics", method="POST")
    assert status == 405 and headers.get("Allow") == "GET, HEAD"
    assert request(port, "/livez", method="DELETE")[0] == 405
    assert request(port, "/livez", method="HEAD")[0] == 200
    # Keep-alive: several requests on one connection.
    import http.client
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for path in ["/livez", "/metrics", "/readyz", "/livez"]:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200, path
    conn.close()


def test_readyz_is_503_while_draining(tmp_path):
    port = free_port()
    d = Daemon(extra_server=http_config(port))
    d.config.write_text(d.config.read_text().replace("shutdown_grace_secs = 10", "shutdown_grace_secs = 3"))
    d.start()
    try:
        assert request(port, "/readyz")[0] == 200
        with d.connect() as c:
            # A long poll in flight holds the drain open for the grace period.
            c.request("queue.receive", {"waitSeconds": 20})
            time.sleep(0.3)
            d.proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 2
            while True:
                status, body, _ = request(port, "/readyz")
                if status == 503:
                    break
                assert time.monotonic() < deadline, (status, body)
                time.sleep(0.05)
            assert body == "not ready: draining\n"
            assert request(port, "/livez")[0] == 200, "the process still serves while it drains"
            signalled = time.monotonic()
            # The long poll is cancelled at the end of the grace period, then everything stops.
            answer = c.read(timeout=10)
            assert answer["error"]["code"] == -32800, answer
        assert d.proc.wait(timeout=10) == 0
        assert time.monotonic() - signalled < 3 + 2
        with pytest.raises(OSError):
            request(port, "/livez", timeout=1)
    finally:
        d.stop()
    log = [json.loads(line) for line in d.log.read_text().splitlines() if line.startswith("{")]
    assert any(entry.get("msg") == "http stopped" for entry in log)


def test_non_loopback_listen_is_a_warning():
    port = free_port()
    d = Daemon(extra_server=http_config(port, host="0.0.0.0")).start()
    try:
        assert request(port, "/livez")[0] == 200
    finally:
        assert d.stop() == 0
    warnings = [json.loads(line) for line in d.log.read_text().splitlines()
                if line.startswith("{") and '"warning"' in line]
    assert any("not a loopback address" in w["msg"] and w.get("http.listen") == f"0.0.0.0:{port}" for w in warnings), \
        d.log.read_text()[-2000:]


def test_loopback_listen_logs_no_warning_and_no_listener_opens_no_port(served):
    d, port = served
    assert "not a loopback address" not in d.log.read_text()
    plain = Daemon().start()
    try:
        assert "http listening" not in plain.log.read_text()
    finally:
        assert plain.stop() == 0


def test_listen_on_a_taken_port_fails_startup():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        d = Daemon(extra_server=http_config(port)).start(wait=False)
        assert d.proc.wait(timeout=15) != 0
    assert f"127.0.0.1:{port}" in d.log.read_text()
