"""Socket activation for real, and the systemd sandbox against what the daemon really does.

The daemon under test is the built binary (tests/conftest.py BIN_DIR) on deploy/rollout.toml,
with its paths moved into a temp directory and every AWS service pointed at a moto server:
the shipped config, not a test-only one.

- `systemd-socket-activate` plays systemd: it binds the socket, and on the first connection
  execs rolloutd with LISTEN_FDS=1 / LISTEN_PID (fd 3), as rolloutd.socket + rolloutd.service do.
- The same run under strace, as an unprivileged user, collects every syscall, socket family,
  W+X mapping and written path of the daemon, and checks them against the sandbox
  deploy/systemd/rolloutd.service declares (SystemCallFilter, RestrictAddressFamilies,
  MemoryDenyWriteExecute, ProtectSystem=strict + the directories it opens up). What the
  kernel-side sandbox would do is not run here (no systemd as PID 1 on the test machines).
"""
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import Conn

from .support import REPO, ROLLOUT_TOML, ROLLOUTD, SYSTEMD, MiB, rollout_config, systemd_unit, unit_value

SOCKET_ACTIVATE = shutil.which("systemd-socket-activate")
STRACE = shutil.which("strace")
SETPRIV = shutil.which("setpriv")
NOBODY = 65534

needs_socket_activate = pytest.mark.skipif(
    SOCKET_ACTIVATE is None, reason="systemd-socket-activate not installed (Debian package systemd)")


@pytest.fixture(scope="module")
def moto():
    proc = subprocess.Popen([sys.executable, str(REPO / "tests" / "aws" / "moto_runner.py"), "--exit-on-stdin-eof"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    port = int(proc.stdout.readline())
    url = f"http://127.0.0.1:{port}"
    yield url
    proc.stdin.close()
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture(scope="module")
def aws_resources(moto):
    """The bucket, queue and secret deploy/rollout.toml names, created in moto."""
    import boto3
    config = rollout_config()["cloud"]
    region = config["region"]

    def client(service):
        return boto3.client(service, endpoint_url=moto, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    client("s3").create_bucket(Bucket=config["aws"]["s3"]["bucket"],
                               CreateBucketConfiguration={"LocationConstraint": region})
    client("sqs").create_queue(QueueName=config["aws"]["sqs"]["queue_url"].rsplit("/", 1)[1])
    for name in config["aws"]["secrets"]["allowlist"]:
        client("secretsmanager").create_secret(Name=name, SecretString=f"value-of-{name}")
    return config


def deployment_config(root: Path):
    """deploy/rollout.toml with its absolute paths moved under `root` (and 5 MiB parts, so a
    small file goes up as a multipart upload). Returns (config path, {deploy path: temp path})."""
    server = rollout_config()["server"]
    moved = {
        os.path.dirname(server["socket"]): root / "run",
        server["state_dir"]: root / "state",
        server["file_roots"][0]: root / "files",
    }
    text = ROLLOUT_TOML.read_text()
    for old, new in moved.items():
        assert f'"{old}' in text, old
        text = text.replace(f'"{old}', f'"{new}')
    text = text.replace("multipart_chunk_bytes = 16777216", f"multipart_chunk_bytes = {5 * MiB}")
    config = root / "rollout.toml"
    config.write_text(text)
    (root / "files").mkdir(parents=True)
    (root / "run").mkdir()
    return config, moved


def aws_env(moto):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LISTEN_"))}
    env.update({"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing-secret-value",
                "AWS_ENDPOINT_URL": moto, "AWS_CONFIG_FILE": "/nonexistent",
                "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_EC2_METADATA_DISABLED": "true"})
    return env


def activate(sock, env, config, daemon=ROLLOUTD):
    """systemd-socket-activate with the daemon: like systemd it starts the service with a clean
    environment, so what the daemon needs is passed with -E (as Environment= would)."""
    passed = [f"-E{k}={v}" for k, v in env.items() if k.startswith("AWS_")]
    return [SOCKET_ACTIVATE, "-l", str(sock), *passed, str(daemon), "--config", str(config)]


def short_root():
    # sun_path is 108 bytes: keep the socket path short.
    import tempfile
    return Path(tempfile.mkdtemp(prefix="rdsa", dir="/tmp"))


def is_listening(path):
    """True once a socket bound to `path` listens (/proc/net/unix flag __SO_ACCEPTCON): the file
    appears at bind(), and a connect() between bind() and listen() is refused."""
    with open("/proc/net/unix") as table:
        next(table)
        for line in table:
            fields = line.split()
            if len(fields) >= 8 and fields[7] == str(path) and int(fields[3], 16) & 0x10000:
                return True
    return False


def wait_for_socket(path, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"exited early with {proc.returncode}"
        if os.path.exists(path) and is_listening(path):
            return
        time.sleep(0.02)
    raise AssertionError(f"{path} never appeared, or nothing listens on it")


def exercise(sock_path, files: Path):
    """Every capability once, through the socket."""
    with Conn(str(sock_path)) as c:
        assert c.result("sys.ping") == {}
        health = c.result("sys.health")
        assert health["provider"] == "aws" and health["status"] == "ok", health
        big = files / "upload.bin"
        big.write_bytes(os.urandom(11 * MiB))  # 3 parts of 5 MiB: a multipart upload
        put = c.result("object.put", {"key": "deploy/upload.bin", "path": str(big)})
        assert put["size"] == 11 * MiB, put
        c.result("object.put", {"key": "deploy/hello.txt", "text": "hi"})
        assert c.result("object.head", {"key": "deploy/upload.bin"})["size"] == 11 * MiB
        got = files / "download.bin"
        c.result("object.get", {"key": "deploy/upload.bin", "path": str(got)})
        assert got.read_bytes() == big.read_bytes()
        keys = [o["key"] for o in c.result("object.list", {"prefix": "deploy/"})["objects"]]
        assert {"deploy/upload.bin", "deploy/hello.txt"} <= set(keys), keys
        c.result("object.delete", {"key": "deploy/hello.txt"})
        c.result("queue.send", {"body": "job-1"})
        received = c.result("queue.receive", {"waitSeconds": 5, "max": 1})["messages"]
        assert [m["body"] for m in received] == ["job-1"], received
        c.result("queue.ack", {"receipt": received[0]["receipt"]})
        name = rollout_config()["cloud"]["aws"]["secrets"]["allowlist"][0]
        assert c.result("secret.get", {"name": name})["value"] == f"value-of-{name}"
        c.result("compute.hint")


@needs_socket_activate
def test_daemon_serves_on_the_socket_systemd_hands_it(moto, aws_resources):
    root = short_root()
    try:
        config, _ = deployment_config(root)
        sock = root / "run" / "rollout.sock"
        with open(root / "daemon.log", "wb") as log:
            proc = subprocess.Popen(activate(sock, aws_env(moto), config),
                                    stdout=subprocess.DEVNULL, stderr=log, cwd=root)
        try:
            # systemd-socket-activate binds first and starts the daemon on the first connection:
            # that connection waits in the backlog and is then served by the daemon.
            wait_for_socket(sock, proc)
            exercise(sock, root / "files")
            with Conn(str(sock)) as a, Conn(str(sock)) as b:
                assert a.result("sys.ping") == {} and b.result("sys.ping") == {}
            environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
            assert b"LISTEN_FDS=1" in environ and f"LISTEN_PID={proc.pid}".encode() in environ
            assert os.readlink(f"/proc/{proc.pid}/exe") == str(ROLLOUTD.resolve())
            # It used the inherited socket: a bound one would come with its flock file.
            assert not (root / "run" / "rollout.sock.lock").exists(), "rolloutd bound its own socket"
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, (root / "daemon.log").read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        output = (root / "daemon.log").read_text()
        assert '"msg":"ready"' in output and '"msg":"stopped"' in output, output[-3000:]
        # The socket file is systemd's (RemoveOnStop=), not the daemon's to unlink: it stays,
        # so the next connection can start the daemon again.
        assert sock.is_socket(), "the daemon removed an inherited socket"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_listen_fds_for_another_process_is_ignored(moto, aws_resources):
    """LISTEN_PID names another process (an inherited environment, not systemd's hand-over):
    the daemon binds its own socket from the config, as documented for sd_listen_fds."""
    root = short_root()
    try:
        config, _ = deployment_config(root)
        env = aws_env(moto) | {"LISTEN_FDS": "1", "LISTEN_PID": "1"}
        proc = subprocess.Popen([str(ROLLOUTD), "--config", str(config)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=root)
        try:
            sock = root / "run" / "rollout.sock"
            wait_for_socket(sock, proc)
            deadline = time.monotonic() + 15
            while True:
                try:
                    with Conn(str(sock)) as c:
                        assert c.result("sys.ping") == {}
                    break
                except OSError:
                    assert time.monotonic() < deadline
                    time.sleep(0.05)
            assert (root / "run" / "rollout.sock.lock").exists()
            assert oct(sock.stat().st_mode & 0o777) == oct(int(rollout_config()["server"]["socket_mode"], 8))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=60) == 0
            assert not sock.exists(), "a socket the daemon bound is removed at exit"
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ----------------------------------------------------------------------------- sandbox vs strace

def syscall_groups():
    """{"@group": [entries]} from `systemd-analyze syscall-filter` (entries may be @groups)."""
    out = subprocess.run(["systemd-analyze", "syscall-filter"], capture_output=True, text=True, check=True).stdout
    groups, current = {}, None
    for line in out.splitlines():
        if line.startswith("@"):
            current = groups.setdefault(line.strip(), [])
        elif line.strip() and not line.strip().startswith("#") and current is not None:
            current.append(line.strip())
    assert "@system-service" in groups and "@privileged" in groups, "unexpected systemd-analyze output"
    return groups


def expand(names, groups):
    result = set()
    for name in names:
        if name.startswith("@"):
            assert name in groups, f"unknown syscall group {name}"
            result |= expand(groups[name], groups)
        else:
            result.add(name)
    return result


def allowed_syscalls(unit):
    """The effective SystemCallFilter= of the unit: the first line allow-lists (unless it starts
    with ~), later `~` lines remove, later plain lines add."""
    groups = syscall_groups()
    lines = unit["Service"].get("SystemCallFilter", [])
    assert lines and not lines[0].startswith("~"), "expected an allow-list SystemCallFilter"
    allowed = set()
    for line in lines:
        deny = line.startswith("~")
        names = expand(line.lstrip("~").split(), groups)
        allowed = allowed - names if deny else allowed | names
    return allowed


TRACE_LINE = re.compile(r"^(\d+)\s+(<\.\.\. )?([a-z0-9_]+)(?:\(| resumed>)(.*)$")
WRITE_FLAGS = re.compile(r"O_WRONLY|O_RDWR|O_CREAT|O_TRUNC")


def daemon_calls(trace_text, daemon_path):
    """(name, pid, args) of every syscall made after the execve of the daemon binary; what
    systemd-socket-activate and setpriv did before that is theirs, not the service's. A call
    strace split in two (`<unfinished ...>`, then `<... name resumed>` when another thread ran in
    between) is joined, so its args end with its result (`= -1 EEXIST ...`) like any other."""
    calls, started, unfinished = [], False, {}
    for line in trace_text.splitlines():
        match = TRACE_LINE.match(line)
        if not match:
            continue  # signals, exits
        pid, resumed, name, args = int(match[1]), bool(match[2]), match[3], match[4]
        if not started:
            started = name == "execve" and args.startswith(f'"{daemon_path}",') and line.endswith("= 0")
            continue
        if resumed:
            index = unfinished.pop(pid, None)
            if index is not None:
                first_name, first_pid, first_args = calls[index]
                calls[index] = (first_name, first_pid, first_args.replace("<unfinished ...>", "") + args)
            continue
        if args.endswith("<unfinished ...>"):
            unfinished[pid] = len(calls)
        calls.append((name, pid, args))
    assert started, "the daemon's execve is not in the trace"
    return calls


def child_of(parent):
    """The one child process of `parent` (from /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            children.append(int(stat.parent.name))
    assert len(children) == 1, f"children of {parent}: {children}"
    return children[0]


def ptrace_works():
    if STRACE is None:
        return False
    return subprocess.run([STRACE, "-qq", "-o", "/dev/null", "true"], capture_output=True, timeout=30).returncode == 0


@needs_socket_activate
@pytest.mark.skipif(not ptrace_works(), reason="strace not installed, or ptrace not permitted here")
def test_service_sandbox_allows_everything_the_daemon_does(moto, aws_resources):
    unit = systemd_unit(SYSTEMD / "rolloutd.service")
    root = short_root()
    try:
        config, moved = deployment_config(root)
        sock = root / "run" / "rollout.sock"
        prefix = []
        daemon = ROLLOUTD
        if os.geteuid() == 0:
            # As under systemd (User=rolloutd): not root. Root would also take paths (SQLite
            # fchowns its files when it runs as root) that the service never takes. The binary is
            # copied next to the config: the checkout may sit in a directory only root can enter
            # (`mktemp -d` makes it 0700), as /usr/bin is not.
            assert SETPRIV, "setpriv (util-linux) is needed to drop root for this test"
            daemon = root / "rolloutd"
            shutil.copy2(ROLLOUTD, daemon)
            for path in [root, *root.rglob("*")]:
                os.chown(path, NOBODY, NOBODY)
            prefix = [SETPRIV, f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
        trace = root / "trace.txt"
        # -y: descriptors are shown with their paths, so *at calls relative to a directory
        # descriptor (the daemon opens client paths beneath held file roots) resolve.
        command = [STRACE, "-f", "-qq", "-y", "-s", "256", "-o", str(trace), *prefix,
                   *activate(sock, aws_env(moto), config, daemon)]
        with open(root / "daemon.log", "wb") as log:
            proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log, cwd=root)
        try:
            wait_for_socket(sock, proc, timeout=30)
            try:
                exercise(sock, root / "files")
            except Exception as error:
                raise AssertionError("the traced daemon failed; its log:\n" + (root / "daemon.log").read_text()[-3000:]) from error
            # strace is the parent: signal the daemon itself (the exec'd child of strace).
            os.kill(child_of(proc.pid), signal.SIGTERM)
            assert proc.wait(timeout=60) == 0, (root / "daemon.log").read_text()[-3000:]
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        calls = daemon_calls(trace.read_text(), daemon)
        names = {name for name, _, _ in calls}
        assert {"accept4", "connect", "openat"} <= names, "the trace missed the daemon's work"

        # SystemCallFilter=
        allowed = allowed_syscalls(unit)
        refused = sorted(names - allowed)
        assert not refused, f"SystemCallFilter= of rolloutd.service would refuse: {refused}"

        # RestrictAddressFamilies=
        families = set(unit_value(unit, "Service", "RestrictAddressFamilies").split())
        used = {re.match(r"(AF_\w+)", args)[1] for name, _, args in calls if name == "socket"}
        assert "AF_INET" in used, "the trace missed the AWS calls"
        assert used <= families, f"socket families used {used}, allowed {families}"

        # MemoryDenyWriteExecute=
        if unit_value(unit, "Service", "MemoryDenyWriteExecute") == "yes":
            for name, _, args in calls:
                if name in ("mmap", "mprotect", "pkey_mprotect"):
                    assert not (name != "mmap" and "PROT_EXEC" in args), f"{name}({args}"
                    assert not ("PROT_WRITE" in args and "PROT_EXEC" in args), f"{name}({args}"

        # ProtectSystem=strict: writes only where the unit opens the file system up.
        writable = [Path(moved[os.path.dirname(rollout_config()["server"]["socket"])]),  # RuntimeDirectory=
                    Path(moved[rollout_config()["server"]["state_dir"]])]  # StateDirectory=
        for path in unit_value(unit, "Service", "ReadWritePaths").split():
            assert path in moved, f"ReadWritePaths={path} is none of the config's directories"
            writable.append(Path(moved[path]))
        for name, _, args in calls:
            path = None
            if name == "openat" and WRITE_FLAGS.search(args):
                path = re.search(r'"([^"]*)"', args)[1]
            elif name == "bind":
                # Only a Unix socket's bind creates a file; an AF_INET bind (the [server.http]
                # listener) names an address.
                quoted = re.search(r'sun_path="([^"]*)"', args)
                path = quoted[1] if quoted else None
            elif name in ("mkdir", "unlink", "rename", "renameat", "renameat2", "unlinkat", "mkdirat"):
                quoted = re.search(r'"([^"]*)"', args)
                path = quoted[1] if quoted else None
            if not path or path.startswith("/dev/") or "= -1" in args:
                continue
            directory = re.match(r"\s*\d+<([^>]*)>", args) if name in ("openat", "renameat", "renameat2", "unlinkat", "mkdirat") else None
            resolved = Path(path) if path.startswith("/") else (Path(directory[1]) if directory else root) / path
            assert any(resolved == w or w in resolved.parents for w in writable), \
                f"{name} writes {path}, outside {[str(w) for w in writable]} (ProtectSystem=strict)"
    finally:
        shutil.rmtree(root, ignore_errors=True)
