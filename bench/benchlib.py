"""Helpers the benchmark scripts share: moto, s3-sink and rolloutd processes, /proc readings,
a minimal JSON-RPC client over the Unix socket, medians and least-squares slopes."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

# What a rolloutd on provider aws runs with: static test credentials, nothing from this machine.
TEST_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent",
}


def progress(script, message):
    print(f"{script}: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop(proc, timeout=10):
    """SIGTERM, then SIGKILL after `timeout` seconds; returns the exit status."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def start_moto(log):
    """moto_server on a free loopback port; returns (process, URL) once it answers."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url + "/moto-api/", timeout=1):
                return proc, url
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"moto_server exited ({proc.returncode}) before answering on {url}")
        if time.monotonic() >= deadline:
            stop(proc)
            raise RuntimeError(f"moto_server did not answer on {url} within 30 s")
        time.sleep(0.1)


def start_sink(binary, pace_mbps=0, verify=True, max_seconds=3600):
    """s3-sink on a free loopback port; returns (process, URL) once it listens."""
    command = [binary, "--pace-mbps", str(pace_mbps), "--max-seconds", str(max_seconds)]
    if not verify:
        command.append("--no-verify")
    proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening "):
        stop(proc)
        raise RuntimeError(f"s3-sink did not start: {line!r}")
    return proc, line.split(" ", 1)[1]


def sink_stats(url):
    with urllib.request.urlopen(url + "/__sink/stats", timeout=10) as response:
        return json.load(response)


def aws_env(**extra):
    """This process's environment without AWS_* and proxy variables, plus the test credentials."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k.lower() not in ("http_proxy", "https_proxy", "all_proxy", "no_proxy")}
    env.update(TEST_CREDENTIALS, **extra)
    return env


def start_daemon(binary, config_path, socket_path, log_path, env=None, timeout=15):
    """rolloutd --config CONFIG --log-level warning; returns the process once sys.ping answers."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([binary, "--config", config_path, "--log-level", "warning"], env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.monotonic() + timeout
    while True:
        try:
            with RPC(socket_path) as rpc:
                rpc.call("sys.ping")
                return proc
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"rolloutd exited ({proc.returncode}) at startup: {tail(log_path)}")
        if time.monotonic() >= deadline:
            stop(proc)
            raise RuntimeError(f"rolloutd did not answer within {timeout} s: {tail(log_path)}")
        time.sleep(0.01)


def tail(path, size=2000):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            f.seek(max(0, f.tell() - size))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


class RPC:
    """One Unix-socket connection; one request in flight at a time."""

    def __init__(self, path, timeout=60):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError:
            self.sock.close()
            raise
        self.buffer = b""
        self.next_id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send_line(self, line):
        """Sends one request line (bytes ending in \\n) and returns the response line."""
        self.sock.sendall(line)
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                response, self.buffer = self.buffer[:end], self.buffer[end + 1:]
                return response
            data = self.sock.recv(1 << 16)
            if not data:
                raise OSError("rolloutd closed the connection")
            self.buffer += data

    def call(self, method, params=None):
        """The decoded response object ({"result": ...} or {"error": ...})."""
        self.next_id += 1
        request = {"jsonrpc": "2.0", "id": self.next_id, "method": method}
        if params is not None:
            request["params"] = params
        return json.loads(self.send_line(json.dumps(request, separators=(",", ":")).encode() + b"\n"))


def proc_cpu_seconds(pid):
    """utime + stime of a process (all its threads), from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_status_kib(pid, field):
    """A kB field of /proc/<pid>/status (VmRSS, VmHWM, ...), or None."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


def proc_io(pid):
    """/proc/<pid>/io as a dict (rchar, read_bytes, ...)."""
    with open(f"/proc/{pid}/io") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def drop_cache(path):
    """Evicts a (clean) file from the page cache: the next read comes from storage."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def warm_cache(path):
    """Reads a file once so that it is in the page cache."""
    with open(path, "rb", buffering=0) as f:
        while f.read(8 << 20):
            pass


def format_table(header, rows):
    """Lines of a plain-text table: the header, a rule, the rows; columns as wide as their widest cell."""
    widths = [max(len(str(row[i])) for row in list(rows) + [header]) for i in range(len(header))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip(),
             "  ".join("-" * width for width in widths)]
    return lines + ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]


def median(values):
    values = sorted(values)
    if not values:
        return None
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2


def slope(xs, ys):
    """Least-squares slope of ys over xs and its standard error (None when it cannot be fitted)."""
    n = len(xs)
    if n < 3:
        return None, None
    mean_x, mean_y = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mean_x) ** 2 for x in xs)
    if sxx == 0:
        return None, None
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx
    residual = sum((y - mean_y - b * (x - mean_x)) ** 2 for x, y in zip(xs, ys))
    return b, (residual / (n - 2) / sxx) ** 0.5
