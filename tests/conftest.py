"""Shared fixtures: start the real rolloutd binary on a private config and talk to it."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
BIN_DIR = Path(os.environ.get("ROLLOUT_BIN_DIR", REPO / ".build" / "debug"))


def toml_list(items):
    return "[" + ", ".join(json.dumps(i) for i in items) + "]"


class Daemon:
    """One rolloutd process on a temp directory (socket path kept short for sun_path)."""

    def __init__(self, root=None, extra_server="", extra_local="", provider="local"):
        self.root = Path(root or tempfile.mkdtemp(prefix="rt", dir="/tmp"))
        if root is None:
            _ROOTS_MADE.append(self.root)
        self.socket = self.root / "run" / "r.sock"
        self.files = self.root / "files"
        self.local_root = self.root / "local"
        self.config = self.root / "rollout.toml"
        self.config.write_text(
            f"""
[server]
socket = "{self.socket}"
state_dir = "{self.root / 'state'}"
file_roots = {toml_list([str(self.files)])}
shutdown_grace_secs = 10
{extra_server}
[cloud]
provider = "{provider}"
[cloud.local]
root = "{self.local_root}"
secrets_allowlist = ["demo/token", "app/db"]
visibility_timeout_secs = 30
{extra_local}
"""
        )
        self.files.mkdir(parents=True, exist_ok=True)
        self.local_root.mkdir(parents=True, exist_ok=True)
        self.proc = None
        self.log = self.root / "rolloutd.log"

    def start(self, wait=True, expect_ready=True):
        self.proc = subprocess.Popen(
            [str(BIN_DIR / "rolloutd"), "--config", str(self.config), "--log-level", "debug"],
            stdout=subprocess.DEVNULL,
            stderr=open(self.log, "ab"),
            cwd=self.root,
        )
        if wait:
            self.wait_ready(expect_ready)
        return self

    def wait_ready(self, expect_ready=True, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                if expect_ready:
                    raise AssertionError(f"rolloutd exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
                return
            try:
                with self.connect() as conn:
                    conn.call("sys.ping")
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError("rolloutd did not become ready")

    def connect(self):
        return Conn(str(self.socket))

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=timeout)
        return self.proc.returncode if self.proc else None


class Conn:
    """A raw line-oriented connection: send JSON or bytes, read lines."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.buf = b""
        self.next_id = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, obj):
        self.send_raw(json.dumps(obj, separators=(",", ":")).encode() + b"\n")

    def read_line(self, timeout=10):
        self.sock.settimeout(timeout)
        while b"\n" not in self.buf:
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise EOFError("connection closed")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line

    def read(self, timeout=10):
        return json.loads(self.read_line(timeout))

    def request(self, method, params=None, id=None, **extra):
        if id is None:
            id = self.next_id
            self.next_id += 1
        msg = {"jsonrpc": "2.0", "id": id, "method": method}
        if params is not None:
            msg["params"] = params
        msg.update(extra)
        self.send(msg)
        return id

    def call(self, method, params=None, timeout=30):
        """Sends one request and returns the response with its id (skipping notifications)."""
        id = self.request(method, params)
        while True:
            msg = self.read(timeout)
            if msg.get("id") == id and "method" not in msg:
                return msg

    def result(self, method, params=None, timeout=30):
        msg = self.call(method, params, timeout)
        assert "error" not in msg, msg
        return msg["result"]

    def error(self, method, params=None, timeout=30):
        msg = self.call(method, params, timeout)
        assert "error" in msg, msg
        return msg["error"]


# The directories Daemon() made; each test's are removed when it ends (a 1 GiB upload test's is
# over 1 GiB, and a full run used to leave several GiB in /tmp).
_ROOTS_MADE = []


@pytest.fixture(autouse=True)
def _remove_daemon_roots():
    made_before = len(_ROOTS_MADE)
    yield
    for root in _ROOTS_MADE[made_before:]:
        shutil.rmtree(root, ignore_errors=True)
    del _ROOTS_MADE[made_before:]


@pytest.fixture
def daemon():
    d = Daemon().start()
    yield d
    code = d.stop()
    assert code == 0, f"rolloutd exited {code}: {d.log.read_text()[-3000:]}"


@pytest.fixture
def conn(daemon):
    with daemon.connect() as c:
        yield c
