"""rolloutctl end to end: the real rolloutd and rolloutctl binaries, run as subprocesses.

The binaries are not built here (the Makefile builds first). They are looked up in
$ROLLOUT_BIN_DIR, default .build/debug, relative to the repository root.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN_DIR = REPO_ROOT / os.environ.get("ROLLOUT_BIN_DIR", ".build/debug")
ROLLOUTD = BIN_DIR / "rolloutd"
ROLLOUTCTL = BIN_DIR / "rolloutctl"

ALLOWED_SECRET = "app/token"


@dataclass
class Daemon:
    base: Path
    socket: Path
    files: Path
    config: Path


def clean_env(**extra):
    """The environment without variables that would redirect rolloutctl or rolloutd."""
    env = {k: v for k, v in os.environ.items() if k not in ("ROLLOUT_SOCKET", "ROLLOUT_CONFIG", "NO_COLOR")}
    env.update(extra)
    return env


def ctl(*args, cwd=None, env=None, stdin=None):
    """Runs rolloutctl; returns the CompletedProcess (stdout/stderr as text)."""
    return subprocess.run(
        [str(ROLLOUTCTL), *map(str, args)],
        cwd=cwd, env=env or clean_env(), input=stdin, capture_output=True, text=True, timeout=60,
    )


def error_reason(result):
    """The `data.reason` of the JSON error document a `--json` run printed on stdout."""
    document = json.loads(result.stdout)
    return document["error"]["data"]["reason"]


def write_config(path, base):
    path.write_text(
        f"""
[server]
socket = "{base}/s.sock"
state_dir = "{base}/state"
file_roots = ["{base}/files"]

[cloud]
provider = "local"

[cloud.local]
root = "{base}/local"
secrets_allowlist = ["{ALLOWED_SECRET}"]
"""
    )


@pytest.fixture(scope="session", autouse=True)
def binaries():
    missing = [str(p) for p in (ROLLOUTD, ROLLOUTCTL) if not p.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: build first (swift build), or set ROLLOUT_BIN_DIR")


@pytest.fixture
def daemon():
    # A short directory under /tmp: the socket path must stay well under 108 bytes.
    base = Path(tempfile.mkdtemp(dir="/tmp", prefix="rctl-"))
    (base / "files").mkdir()
    (base / "local").mkdir()
    (base / "local" / "secrets.toml").write_text(f'"{ALLOWED_SECRET}" = "hunter2"\n"other" = "nope"\n')
    config = base / "rollout.toml"
    write_config(config, base)
    log = open(base / "rolloutd.log", "wb")
    process = subprocess.Popen(
        [str(ROLLOUTD), "--config", str(config)], cwd=base, env=clean_env(),
        stdin=subprocess.DEVNULL, stdout=log, stderr=log,
    )
    socket = base / "s.sock"
    deadline = time.monotonic() + 10
    while not socket.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait()
            log.close()
            pytest.fail("rolloutd did not come up:\n" + (base / "rolloutd.log").read_text(errors="replace"))
        time.sleep(0.02)
    try:
        yield Daemon(base=base, socket=socket, files=base / "files", config=config)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            status = process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
            log.close()
        assert status == 0, (base / "rolloutd.log").read_text(errors="replace")
        shutil.rmtree(base, ignore_errors=True)


def run(daemon, *args, **kwargs):
    """rolloutctl against `daemon`, the socket found through --config, run in the daemon's directory."""
    return ctl("--config", daemon.config, *args, cwd=daemon.base, **kwargs)


def test_health_json(daemon):
    result = run(daemon, "--json", "health")
    assert result.returncode == 0, result.stderr
    health = json.loads(result.stdout)
    assert health["provider"] == "local"
    assert health["status"] in ("ok", "degraded")
    assert set(health["capabilities"]) == {"objectStore", "queue", "secrets", "compute", "rollout"}


def test_health_human_and_options_after_command(daemon):
    result = ctl("health", "--socket", daemon.socket, cwd="/")
    assert result.returncode == 0, result.stderr
    assert "CAPABILITY" in result.stdout and "LAST ERROR" in result.stdout
    assert "\x1b[" not in result.stdout  # not a terminal: no ANSI styling


def test_socket_from_environment(daemon):
    result = ctl("--json", "health", cwd="/", env=clean_env(ROLLOUT_SOCKET=str(daemon.socket)))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["provider"] == "local"


def test_object_put_file_then_get_output_round_trip(daemon):
    payload = os.urandom(3 * 1024 * 1024 + 17)
    (daemon.files / "in.bin").write_bytes(payload)
    put = run(daemon, "--json", "object", "put", "snapshots/a.bin", "--file", "files/in.bin", "--metadata", "owner=ci")
    assert put.returncode == 0, put.stderr
    assert json.loads(put.stdout)["size"] == len(payload)

    get = run(daemon, "--json", "object", "get", "snapshots/a.bin", "--output", "files/out.bin")
    assert get.returncode == 0, get.stderr
    assert json.loads(get.stdout)["metadata"] == {"owner": "ci"}
    assert (daemon.files / "out.bin").read_bytes() == payload

    listing = json.loads(run(daemon, "--json", "object", "ls", "snapshots/", "--all").stdout)
    assert [o["key"] for o in listing["objects"]] == ["snapshots/a.bin"]


def test_object_inline_text_and_stdin(daemon):
    assert run(daemon, "object", "put", "t.txt", "--text", "hello").returncode == 0
    get = run(daemon, "object", "get", "t.txt")
    assert get.returncode == 0 and get.stdout == "hello"
    assert run(daemon, "object", "put", "s.txt", "-", stdin="from stdin").returncode == 0
    assert run(daemon, "object", "get", "s.txt", "--range", "5-9").stdout == "stdin"


def test_object_put_outside_file_roots_is_access_denied(daemon):
    outside = "/etc/hostname" if os.path.exists("/etc/hostname") else "/etc/passwd"
    result = run(daemon, "--json", "object", "put", "x", "--file", outside)
    assert result.returncode == 4
    assert error_reason(result) == "AccessDenied"
    assert "rolloutctl: AccessDenied:" in result.stderr


def test_object_head_missing_key_is_not_found(daemon):
    result = run(daemon, "--json", "object", "head", "no/such/key")
    assert result.returncode == 4
    assert error_reason(result) == "NotFound"
    human = run(daemon, "object", "head", "no/such/key")
    assert human.returncode == 4 and human.stdout == ""
    assert human.stderr.startswith("rolloutctl: NotFound: ")


def test_queue_send_receive_ack(daemon):
    send = run(daemon, "--json", "queue", "send", "job-1", "--attr", "kind=test")
    assert send.returncode == 0, send.stderr
    message_id = json.loads(send.stdout)["messageId"]

    receive = run(daemon, "--json", "queue", "receive", "--max", "10")
    assert receive.returncode == 0, receive.stderr
    messages = json.loads(receive.stdout)["messages"]
    assert [(m["messageId"], m["body"], m["attributes"]) for m in messages] == [(message_id, "job-1", {"kind": "test"})]

    ack = run(daemon, "queue", "ack", messages[0]["receipt"])
    assert ack.returncode == 0, ack.stderr
    again = run(daemon, "--json", "queue", "receive", "--max", "10", "--visibility", "0")
    assert json.loads(again.stdout)["messages"] == []


def test_secret_get(daemon):
    allowed = run(daemon, "secret", "get", ALLOWED_SECRET)
    assert allowed.returncode == 0, allowed.stderr
    assert allowed.stdout == "hunter2\n"
    refused = run(daemon, "--json", "secret", "get", "other")
    assert refused.returncode == 4
    assert error_reason(refused) == "ConfigInvalid"


def test_compute_hint(daemon):
    result = run(daemon, "--json", "compute", "hint")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["cpus"] >= 1


def test_rollout_list_is_unsupported_on_local(daemon):
    result = run(daemon, "--json", "rollout", "list")
    assert result.returncode == 4
    assert error_reason(result) == "Unsupported"


def test_call_sys_ping_prints_empty_object(daemon):
    result = run(daemon, "call", "sys.ping")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "{}\n"


def test_usage_errors_exit_2():
    assert ctl("object", "put").returncode == 2
    assert ctl("object", "put", "k", "--text", "a", "--data-base64", "YQ==").returncode == 2
    assert ctl("call", "sys.ping", "[1]").returncode == 2
    assert ctl("rollout", "start", "--function", "f", "--alias", "a", "--strategy", "canary").returncode == 2
    assert ctl("no-such-command").returncode == 2


def test_missing_socket_is_recoverable():
    result = ctl("--json", "--socket", "/tmp/rolloutctl-test-no-such.sock", "health")
    assert result.returncode == 3
    assert error_reason(result) == "Unavailable"


def test_config_check(tmp_path):
    good = tmp_path / "good.toml"
    write_config(good, tmp_path)
    result = ctl("config", "check", "--config", good)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"ok: {good}\n"

    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nmax_request_bytes = 5\n")
    result = ctl("config", "check", "--config", bad)
    assert result.returncode == 4
    assert "server.max_request_bytes" in result.stderr
    document = json.loads(ctl("--json", "config", "check", "--config", bad).stdout)
    assert document["error"]["data"]["reason"] == "ConfigInvalid"
    assert [p["key"] for p in document["error"]["data"]["problems"]] == ["server.max_request_bytes"]


def test_config_check_knows_max_batch_items(tmp_path):
    good = tmp_path / "good.toml"
    good.write_text("[server]\nmax_batch_items = 10000\n")
    result = ctl("config", "check", "--config", good)
    assert result.returncode == 0, result.stderr
    assert ctl("config", "explain", "--config", good).returncode == 0

    bad = tmp_path / "bad.toml"
    bad.write_text("[server]\nmax_batch_items = 0\n")
    result = ctl("config", "check", "--config", bad)
    assert result.returncode == 4
    assert "server.max_batch_items = 0 is out of range; allowed 1...10000" in result.stderr


def test_config_check_reports_a_file_root_over_the_state_dir(tmp_path):
    config = tmp_path / "rollout.toml"
    config.write_text(f'[server]\nstate_dir = "{tmp_path}/files/state"\nfile_roots = ["{tmp_path}/files"]\n')
    result = ctl("config", "check", "--config", config)
    assert result.returncode == 4
    assert "server.file_roots[0]" in result.stderr and "server.state_dir" in result.stderr
    document = json.loads(ctl("--json", "config", "check", "--config", config).stdout)
    assert [p["key"] for p in document["error"]["data"]["problems"]] == ["server.file_roots"]


def test_config_explain_local(tmp_path):
    config = tmp_path / "rollout.toml"
    config.write_text('[server]\nsocket = "run/r.sock"\n')
    directory = os.path.realpath(tmp_path)  # what the cwd of rolloutctl reports
    result = ctl("--json", "config", "explain", "--config", config, cwd=directory)
    assert result.returncode == 0, result.stderr
    explained = json.loads(result.stdout)
    assert explained["provider"] == "local"
    assert explained["socket"] == f"{directory}/run/r.sock"
    assert explained["fileRoots"] == [f"{directory}/.rollout/files"]
    assert explained["services"] == {}


def test_version_and_completions():
    version = ctl("--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() and version.stdout.strip()[0].isdigit()
    assert "completion" in ctl("--help").stdout
    for shell, marker in (("bash", "complete"), ("zsh", "#compdef"), ("fish", "complete -c")):
        script = ctl("completion", shell)
        assert script.returncode == 0 and marker in script.stdout, (shell, script.stderr)
        assert ctl("--generate-completion-script", shell).stdout == script.stdout
    assert ctl("completion", "tcsh").returncode == 2


def test_human_sizes_and_no_progress(daemon):
    payload = os.urandom(3 * 1024 * 1024 + 100)
    (daemon.files / "in.bin").write_bytes(payload)
    put = run(daemon, "--no-progress", "object", "put", "sized.bin", "--file", "files/in.bin")
    assert put.returncode == 0, put.stderr
    assert re.search(r"^size\s+3\.0 MiB$", put.stdout, re.M), put.stdout
    head = run(daemon, "object", "head", "sized.bin", "--no-progress")
    assert re.search(r"^size\s+3\.0 MiB$", head.stdout, re.M), head.stdout
    listing = run(daemon, "object", "ls")
    assert re.search(r"^sized\.bin\s+3\.0 MiB\s", listing.stdout, re.M), listing.stdout
    assert json.loads(run(daemon, "--json", "object", "head", "sized.bin").stdout)["size"] == len(payload)


def start_ctl(args, cwd, stdin=None, stdout=None):
    """Starts rolloutctl (stderr piped); finish it with wait_rss."""
    process = subprocess.Popen([str(ROLLOUTCTL), *map(str, args)], cwd=cwd, env=clean_env(),
                               stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    return process


def wait_rss(process):
    """Reaps `process`; returns (exit status, its peak resident set size in KiB)."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss


def test_object_put_and_get_stream_64_mib_with_constant_memory(daemon):
    size = 64 * 1024 * 1024
    chunk = os.urandom(1024 * 1024)
    expected = hashlib.sha256()

    baseline = start_ctl(["--config", daemon.config, "health"], daemon.base, stdout=subprocess.DEVNULL)
    _, baseline_kib = wait_rss(baseline)

    put = start_ctl(["--config", daemon.config, "--json", "object", "put", "big.bin", "-"], daemon.base,
                       stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def feed():
        for index in range(size // len(chunk)):
            block = bytes([index % 251]) + chunk[1:]
            expected.update(block)
            put.stdin.write(block)
        put.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    output = put.stdout.read()
    writer.join()
    status, put_kib = wait_rss(put)
    assert status == 0, put.stderr.read()
    assert json.loads(output)["size"] == size

    get = start_ctl(["--config", daemon.config, "object", "get", "big.bin", "-"], daemon.base, stdout=subprocess.PIPE)
    received, got = hashlib.sha256(), 0
    while block := get.stdout.read(1024 * 1024):
        received.update(block)
        got += len(block)
    status, get_kib = wait_rss(get)
    assert status == 0, get.stderr.read()
    assert got == size and received.hexdigest() == expected.hexdigest()

    # Constant memory: a few MiB over a `health` run, nowhere near the 64 MiB that went through.
    print(f"rolloutctl peak RSS (KiB): health {baseline_kib}, put - {put_kib}, get - {get_kib}")
    assert put_kib < baseline_kib + 16 * 1024, (baseline_kib, put_kib)
    assert get_kib < baseline_kib + 16 * 1024, (baseline_kib, get_kib)
    # The spool files are gone.
    assert [p.name for p in daemon.files.iterdir() if p.name.startswith(".rolloutctl-")] == []


def test_rolloutd_command_line():
    """rolloutd parses its four options by hand: --version and --help print and exit 0, the
    daemon and rolloutctl report the same version, and a mistake exits 64 naming the argument."""
    def rolloutd(*arguments):
        return subprocess.run([str(ROLLOUTD), *arguments], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)

    version = rolloutd("--version")
    assert version.returncode == 0 and version.stdout.strip() == ctl("--version").stdout.strip(), version
    usage = rolloutd("--help")
    assert usage.returncode == 0 and "--config <config>" in usage.stdout and "--log-level" in usage.stdout
    for arguments, named in ((["--bogus"], "'--bogus'"), (["--config"], "--config"), (["stray"], "'stray'"),
                             (["--log-level", "loud"], "--log-level must be one of")):
        result = rolloutd(*arguments)
        assert result.returncode == 64 and named in result.stderr, (arguments, result)
