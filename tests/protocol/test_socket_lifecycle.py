"""Socket permissions, stale sockets, a live daemon's socket, peer uid checks, SIGTERM draining."""
import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from tests.conftest import Daemon


def test_socket_mode_and_parent_dir(daemon):
    st = os.lstat(daemon.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert stat.S_IMODE(os.stat(daemon.socket.parent).st_mode) == 0o700


def test_stale_socket_is_replaced():
    d = Daemon()
    d.socket.parent.mkdir(mode=0o700, parents=True)
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(str(d.socket))
    stale.close()  # the file stays behind, nobody listens
    assert d.socket.exists()
    d.start()
    try:
        with d.connect() as c:
            assert c.result("sys.ping") == {}
    finally:
        assert d.stop() == 0
    assert not d.socket.exists()


def test_second_daemon_refuses_live_socket(daemon):
    second = Daemon(root=daemon.root)
    second.config = daemon.config
    second.log = daemon.root / "second.log"
    second.start(wait=False)
    code = second.proc.wait(timeout=15)
    assert code != 0
    assert "already serving" in second.log.read_text() or "live daemon" in second.log.read_text()
    with daemon.connect() as c:
        assert c.result("sys.ping") == {}


def test_non_file_at_socket_path_is_not_removed():
    d = Daemon()
    d.socket.parent.mkdir(mode=0o700, parents=True)
    d.socket.write_text("precious")
    d.start(wait=False)
    assert d.proc.wait(timeout=15) != 0
    assert d.socket.read_text() == "precious"
    assert "not a socket" in d.log.read_text()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv")
def test_other_uid_is_refused():
    d = Daemon(extra_server='socket_mode = "0666"')
    d.start()
    try:
        os.chmod(d.socket.parent, 0o755)
        os.chmod(d.root, 0o755)
        probe = (
            "import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
            "s.sendall(b'{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sys.ping\"}\\n')\n"
            "s.settimeout(5);data=b''\n"
            "while True:\n"
            "  c=s.recv(4096)\n"
            "  if not c: break\n"
            "  data+=c\n"
            "print(data.decode())\n"
        )
        out = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c", probe, str(d.socket)],
            capture_output=True, text=True, timeout=20,
        )
        assert out.returncode == 0, out.stderr
        lines = [json.loads(l) for l in out.stdout.strip().splitlines() if l.strip()]
        # One refusal line (never a ping result), then the daemon closes the connection.
        assert len(lines) == 1
        assert lines[0]["error"]["data"]["reason"] == "AccessDenied"
        assert "65534" in lines[0]["error"]["message"]
        # The daemon's own uid is still served.
        with d.connect() as c:
            assert c.result("sys.ping") == {}
    finally:
        assert d.stop() == 0


def test_sigterm_drains_inflight_request():
    d = Daemon().start()
    with d.connect() as c:
        c.request("queue.receive", {"waitSeconds": 3}, id="inflight")
        time.sleep(0.3)
        d.proc.send_signal(signal.SIGTERM)
        msg = c.read(timeout=15)
        assert msg["id"] == "inflight" and msg["result"] == {"messages": []}
    assert d.proc.wait(timeout=15) == 0
    assert not d.socket.exists()
    assert not os.path.exists(str(d.socket) + ".lock")


def test_sigint_exits_cleanly():
    d = Daemon().start()
    assert d.stop(signal.SIGINT) == 0
    assert not d.socket.exists()


def test_socket_path_too_long_is_a_clear_startup_error():
    d = Daemon(extra_server="")
    long_dir = d.root / ("x" * 120)
    d.config.write_text(d.config.read_text().replace(str(d.socket), str(long_dir / "r.sock")))
    d.start(wait=False)
    assert d.proc.wait(timeout=15) != 0
    log = d.log.read_text()
    assert "server.socket" in log or "sun_path" in log or "108" in log


def test_invalid_config_names_key():
    d = Daemon(extra_server="max_inflight_per_connection = 0")
    d.start(wait=False)
    assert d.proc.wait(timeout=15) != 0
    log = d.log.read_text()
    assert "max_inflight_per_connection" in log and str(d.config) in log


def test_file_root_over_the_local_root_is_a_startup_error():
    d = Daemon()
    d.config.write_text(d.config.read_text().replace(f'root = "{d.local_root}"', f'root = "{d.files}/local"'))
    d.start(wait=False)
    assert d.proc.wait(timeout=15) != 0
    log = d.log.read_text()
    assert "server.file_roots[0]" in log and "cloud.local.root" in log
    assert not d.socket.exists()


def test_backpressure_limits_inflight_per_connection():
    d = Daemon(extra_server="max_inflight_per_connection = 2").start()
    try:
        with d.connect() as c:
            c.request("queue.receive", {"waitSeconds": 2}, id="a")
            c.request("queue.receive", {"waitSeconds": 2}, id="b")
            c.request("sys.ping", id="ping")
            start = time.monotonic()
            first = c.read(timeout=10)
            # With two slots taken, the ping is not even read until a long poll finishes.
            assert first["id"] in ("a", "b")
            assert time.monotonic() - start > 1.0
            ids = {first["id"], c.read(timeout=10)["id"], c.read(timeout=10)["id"]}
            assert ids == {"a", "b", "ping"}
        # A second connection has its own slots.
        with d.connect() as c1, d.connect() as c2:
            c1.request("queue.receive", {"waitSeconds": 2}, id="x")
            c1.request("queue.receive", {"waitSeconds": 2}, id="y")
            t = time.monotonic()
            assert c2.result("sys.ping") == {}
            assert time.monotonic() - t < 1.0
    finally:
        assert d.stop() == 0
