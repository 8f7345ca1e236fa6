"""Path confinement under attack: a client swaps symlinks, directories and FIFOs in a loop while
it calls object.put / object.get with `path`, trying to make the daemon read or write outside
[server].file_roots (SPEC §4.2). Every race runs for a bounded time and asserts that nothing
outside the roots was read or written and that no temp file was left anywhere."""
import base64
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from tests.conftest import Daemon

RACE_SECONDS = float(os.environ.get("ROLLOUT_RACE_SECONDS", "3"))
SECRET = b"TOP-SECRET-outside-the-roots\n"

# The attacker: a separate process so the swaps really interleave with the daemon's opens.
SWAPPER = textwrap.dedent(
    """
    import os, sys, time
    mode, a, b, c = sys.argv[1:5]
    end = time.monotonic() + float(sys.argv[5])
    def quiet(f, *args):
        try: f(*args)
        except OSError: pass
    while time.monotonic() < end:
        if mode == "symlink":      # a: link path, b: real dir (relative to a's directory), c: outside dir
            quiet(os.unlink, a); quiet(os.symlink, b, a)
            quiet(os.unlink, a); quiet(os.symlink, c, a)
        elif mode == "dirswap":    # a: dir path, b: parked name, c: outside dir
            quiet(os.rename, a, b); quiet(os.symlink, c, a)
            quiet(os.unlink, a); quiet(os.rename, b, a)
        elif mode == "fifo":       # a: file path, b: regular file to copy in
            quiet(os.unlink, a); quiet(os.mkfifo, a)
            quiet(os.unlink, a); quiet(os.link, b, a)
        elif mode == "devzero":    # a: file path, b: regular file
            quiet(os.unlink, a); quiet(os.symlink, "/dev/zero", a)
            quiet(os.unlink, a); quiet(os.link, b, a)
    """
)


@pytest.fixture
def arena():
    d = Daemon(extra_server='max_request_bytes = 1048576')
    outside = d.root / "outside"
    outside.mkdir()
    (outside / "f").write_bytes(SECRET)
    (d.local_root / "secrets.toml").write_text('"demo/token" = "TOP-SECRET-local"\n')
    d.start()
    yield d, outside
    d.stop(signal.SIGKILL)


def swap(mode, a, b, c=""):
    return subprocess.Popen([sys.executable, "-c", SWAPPER, mode, str(a), str(b), str(c), str(RACE_SECONDS)])


def temp_files(*trees):
    found = []
    for tree in trees:
        for dirpath, dirnames, filenames in os.walk(tree):
            found += [os.path.join(dirpath, n) for n in filenames + dirnames if n.startswith(".rolloutd-") or n.endswith(".tmp")]
    return found


def outside_untouched(outside):
    assert sorted(os.listdir(outside)) == ["f"], os.listdir(outside)
    assert (outside / "f").read_bytes() == SECRET


def race(conn, swapper, call):
    """Calls `call(conn)` until the swapper ends; returns (calls, outcomes by reason)."""
    calls, reasons = 0, {}
    try:
        while swapper.poll() is None:
            reason = call(conn)
            reasons[reason] = reasons.get(reason, 0) + 1
            calls += 1
    finally:
        swapper.kill()
        swapper.wait()
    print(f"races tried: {calls} {reasons}")
    return calls, reasons


def reason_of(response):
    return "ok" if "result" in response else response["error"]["data"]["reason"]


def test_put_from_file_through_a_swapped_symlink_never_reads_outside(arena):
    d, outside = arena
    real = d.files / "real"
    real.mkdir()
    (real / "f").write_bytes(b"benign\n")
    link = d.files / "d"
    leaked = []

    def call(conn):
        response = conn.call("object.put", {"key": "k", "path": str(link / "f")})
        if "result" in response:
            data = base64.b64decode(conn.result("object.get", {"key": "k"})["data"])
            if data != b"benign\n":
                leaked.append(data)
        return reason_of(response)

    with d.connect() as conn:
        calls, reasons = race(conn, swap("symlink", link, real.name, outside), call)
    assert leaked == []
    assert calls > 50 and reasons.get("ok", 0) > 0 and reasons.get("AccessDenied", 0) > 0, reasons
    outside_untouched(outside)
    assert temp_files(d.root) == []


def test_put_of_the_local_secrets_file_through_a_swapped_symlink_is_denied(arena):
    d, outside = arena
    real = d.files / "real"
    real.mkdir()
    (real / "secrets.toml").write_text("benign = 1\n")
    link = d.files / "d"

    def call(conn):
        response = conn.call("object.put", {"key": "s", "path": str(link / "secrets.toml")})
        if "result" in response:
            data = base64.b64decode(conn.result("object.get", {"key": "s"})["data"])
            assert b"TOP-SECRET" not in data
        return reason_of(response)

    with d.connect() as conn:
        calls, reasons = race(conn, swap("symlink", link, real.name, d.local_root), call)
    assert calls > 50 and set(reasons) <= {"ok", "AccessDenied", "NotFound"}, reasons


def test_get_to_file_through_a_swapped_symlink_never_writes_outside(arena):
    d, outside = arena
    real = d.files / "real"
    real.mkdir()
    link = d.files / "d"
    with d.connect() as conn:
        conn.result("object.put", {"key": "payload", "text": "planted by the attacker"})
        calls, reasons = race(
            conn, swap("symlink", link, real.name, outside),
            lambda c: reason_of(c.call("object.get", {"key": "payload", "path": str(link / "f")})),
        )
    assert calls > 50 and reasons.get("ok", 0) > 0 and reasons.get("AccessDenied", 0) > 0, reasons
    outside_untouched(outside)
    assert (real / "f").read_text() == "planted by the attacker"
    assert temp_files(d.root) == []


def test_directory_swapped_for_a_symlink_mid_call_writes_nothing_outside(arena):
    d, outside = arena
    target = d.files / "d"
    target.mkdir()
    parked = d.files / "parked"
    with d.connect() as conn:
        conn.result("object.put", {"key": "payload", "data": base64.b64encode(os.urandom(256 * 1024)).decode()})
        calls, reasons = race(
            conn, swap("dirswap", target, parked, outside),
            lambda c: reason_of(c.call("object.get", {"key": "payload", "path": str(target / "f")})),
        )
    assert calls > 50 and set(reasons) <= {"ok", "AccessDenied", "NotFound"}, reasons
    outside_untouched(outside)
    assert temp_files(d.root) == []


def test_fifo_swapped_in_for_the_path_never_blocks(arena):
    d, outside = arena
    regular = d.files / "regular"
    regular.write_bytes(b"regular\n")
    path = d.files / "f"

    def call(conn):
        started = time.monotonic()
        response = conn.call("object.put", {"key": "f", "path": str(path)}, timeout=5)
        assert time.monotonic() - started < 5
        if "error" in response:
            assert response["error"]["code"] == -32602 or response["error"]["data"]["reason"] == "NotFound", response
        return reason_of(response)

    with d.connect() as conn:
        calls, reasons = race(conn, swap("fifo", path, regular), call)
        assert conn.call("sys.ping")["result"] == {}
    assert calls > 50 and reasons.get("InvalidParams", 0) > 0, reasons


def test_symlink_to_dev_zero_is_denied_not_streamed(arena):
    d, outside = arena
    regular = d.files / "regular"
    regular.write_bytes(b"regular\n")
    path = d.files / "z"

    def call(conn):
        response = conn.call("object.put", {"key": "z", "path": str(path)}, timeout=5)
        if "result" in response:
            assert response["result"]["size"] == len(b"regular\n")
        return reason_of(response)

    with d.connect() as conn:
        calls, reasons = race(conn, swap("devzero", path, regular), call)
    assert calls > 50 and reasons.get("AccessDenied", 0) > 0, reasons
    assert set(reasons) <= {"ok", "AccessDenied", "NotFound"}, reasons
