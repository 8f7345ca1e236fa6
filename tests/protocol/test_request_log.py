"""Request logs (issue 14): at the default level `info`, a stream of successful requests writes no
lines; failures and slow requests do; `[server] log_level = "debug"` logs every request."""
import json
import signal
import subprocess

from tests.conftest import BIN_DIR, Daemon


def start_without_flag(d):
    d.proc = subprocess.Popen(
        [str(BIN_DIR / "rolloutd"), "--config", str(d.config)],
        stdout=subprocess.DEVNULL, stderr=open(d.log, "ab"), cwd=d.root,
    )
    d.wait_ready()
    return d


def log_lines(d):
    return [json.loads(line) for line in d.log.read_text().splitlines() if line.startswith("{")]


def test_info_level_logs_no_line_per_successful_request():
    d = start_without_flag(Daemon())
    try:
        with d.connect() as conn:
            for _ in range(300):
                conn.result("sys.ping")
                conn.result("object.put", {"key": "k", "text": "v"})
            conn.error("object.head", {"key": "missing"})
    finally:
        assert d.stop(signal.SIGTERM) == 0
    lines = log_lines(d)
    requests = [line for line in lines if line.get("rpc.method")]
    assert [(r["level"], r["msg"], r["rpc.method"]) for r in requests] == [("notice", "request failed", "object.head")]
    assert {"starting", "ready", "stopped"} <= {line["msg"] for line in lines}


def test_log_level_debug_in_the_config_logs_every_request():
    d = start_without_flag(Daemon(extra_server='log_level = "debug"'))
    try:
        with d.connect() as conn:
            for _ in range(20):
                conn.result("sys.ping")
    finally:
        assert d.stop(signal.SIGTERM) == 0
    pings = [line for line in log_lines(d) if line.get("rpc.method") == "sys.ping"]
    assert len(pings) >= 20 and all(line["level"] == "debug" for line in pings)
