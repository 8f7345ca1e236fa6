#!/usr/bin/env python3
"""The driver `make bench` runs: moto, a secret in it, then rollout-bench.

1. Starts `python3 -m moto.server -H 127.0.0.1 -p <free port>` and waits until it answers.
2. Creates the secret bench/token (64 characters) in moto's Secrets Manager with boto3.
3. Runs `$BIN_DIR/rollout-bench --daemon $BIN_DIR/rolloutd --moto-endpoint URL --secret bench/token
   --python <this interpreter> [extra arguments]`, which prints the table (or JSON, with --json)
   on stdout. rollout-bench itself runs bench/botocore_sign_rate.py, right after its own SigV4
   loop, so both rates are measured under the same conditions.
4. Stops moto, whatever happened, and exits with rollout-bench's status.

Usage, from the repository root: [BIN_DIR=.build/release] python3 bench/run_bench.py [rollout-bench args]
BIN_DIR defaults to .build/release; extra arguments (--requests, --seconds, --json, ...) go to
rollout-bench. Progress goes to stderr.
"""

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SECRET_NAME = "bench/token"
SECRET_VALUE = "x" * 64


def progress(message):
    print(f"run_bench: {message}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def stop(proc):
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def create_secret(url):
    import boto3

    client = boto3.client(
        "secretsmanager", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    client.create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)


def main():
    bin_dir = os.environ.get("BIN_DIR", ".build/release")
    daemon = os.path.join(bin_dir, "rolloutd")
    bench = os.path.join(bin_dir, "rollout-bench")
    for path in (daemon, bench):
        if not os.access(path, os.X_OK):
            progress(f"{path} is not an executable file (build it, or set BIN_DIR)")
            return 2

    # SIGTERM (make interrupted, a CI timeout) takes the same path as Ctrl-C: moto is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)

    with tempfile.TemporaryFile(prefix="moto-log.") as log:
        proc = None
        try:
            progress("starting moto_server")
            proc, url = start_moto(log)
            progress(f"moto at {url}; creating secret {SECRET_NAME}")
            create_secret(url)
            command = [
                bench, "--daemon", daemon, "--moto-endpoint", url, "--secret", SECRET_NAME,
                "--python", sys.executable,
            ] + sys.argv[1:]
            progress("running " + " ".join(command))
            status = subprocess.call(command)
            if status == 0 and "--json" not in sys.argv[1:]:
                progress("upload benchmark: rolloutd vs boto3 upload_file")
                status = subprocess.call([sys.executable, os.path.join(os.path.dirname(__file__), "upload_bench.py"), daemon, url])
            return status
        except KeyboardInterrupt:
            progress("interrupted")
            return 130
        except Exception as error:  # noqa: BLE001 - report, show moto's log, stop moto
            progress(f"error: {error}")
            log.seek(0)
            tail = log.read().decode(errors="replace").splitlines()[-20:]
            if tail:
                print("--- last lines of the moto_server log ---\n" + "\n".join(tail), file=sys.stderr)
            return 1
        finally:
            if proc is not None:
                stop(proc)


if __name__ == "__main__":
    sys.exit(main())
