#!/usr/bin/env python3
"""The driver `make bench` runs: moto, a secret in it, then rollout-bench.

1. Starts `python3 -m moto.server -H 127.0.0.1 -p <free port>` and waits until it answers.
2. Creates the secret bench/token (64 characters) in moto's Secrets Manager with boto3.
3. Runs `$BIN_DIR/rollout-bench --daemon $BIN_DIR/rolloutd --moto-endpoint URL --secret bench/token
   --python <this interpreter> --json [extra arguments]` (latency, throughput, idle RSS, ready time
   against the Python baseline; cached secret.get; SigV4 against botocore, measured right after its
   own loop so both rates see the same conditions).
4. Runs bench/upload_bench.py (256 MiB through rolloutd vs boto3 upload_file on the same moto,
   $UPLOAD_RUNS runs, default 3, medians).
5. Prints one table: each figure, its baseline from this same run, the ratio, the target and whether
   it was met (or all figures as JSON with --json). Stops moto, whatever happened.

Usage, from the repository root: [BIN_DIR=.build/release] python3 bench/run_bench.py [rollout-bench args]
BIN_DIR defaults to .build/release; extra arguments (--requests, --seconds, --json, ...) go to
rollout-bench. Progress goes to stderr.
"""

import json
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


def report(figures, upload):
    """One table: each figure, its baseline measured in the same run, the ratio, the target."""
    daemon, base, aws, sigv4 = figures["rolloutd"], figures["baseline"], figures["aws"], figures["sigv4"]
    python = "Python asyncio NDJSON server"
    rows = [
        # (figure, ours, baseline, baseline is, target text, met(ours, ratio) or None)
        ("sys.ping p50 (us)", daemon["ping_p50_us"], base["ping_p50_us"], python, "<= 50 us", lambda v, r: v <= 50),
        ("sys.ping p99 (us)", daemon["ping_p99_us"], base["ping_p99_us"], python, "-", None),
        ("pipelined req/s, 8 conns", daemon["pipelined_rps"], base["pipelined_rps"], python, ">= 2x baseline", lambda v, r: r >= 2),
        ("idle RSS (MiB)", daemon["idle_rss_mib"], base["idle_rss_mib"], python, "<= 20 MiB", lambda v, r: v <= 20),
        ("exec to ready (ms, median)", daemon["ready_ms_median"], None, "-", "<= 200 ms", lambda v, r: v <= 200),
    ]
    metrics = figures.get("metrics", {})
    if "ping_p50_us_on" in metrics:
        rows.append(("sys.ping p50, metrics on (us)", metrics["ping_p50_us_on"], metrics["ping_p50_us_off"],
                     "sys.ping, no [server.http] (interleaved)", "<= +2 us", lambda v, r: v - metrics["ping_p50_us_off"] <= 2))
    if "secret_get_p50_us" in aws:
        rows.append(("cached secret.get p50 (us)", aws["secret_get_p50_us"], aws["ping_p50_us"], "sys.ping, same daemon",
                     "<= 100 us", lambda v, r: v <= 100))
    if "signatures_per_second" in sigv4:
        rows.append(("SigV4 signatures/s", sigv4["signatures_per_second"], sigv4["botocore_signatures_per_second"],
                     "botocore S3SigV4Auth", "-", None))
    if upload:
        ours, boto = upload["rolloutd"], upload["boto3"]
        label = f"{upload['size_mib']} MiB upload"
        bound = 32 + upload["concurrency"] * upload["chunk_mib"]
        baseline = f"boto3 upload_file, {upload['chunk_mib']} MiB parts, median of {len(upload['runs'])}"
        rows += [
            (f"{label} wall (s)", ours["wall"], boto["wall"], baseline, "<= boto3", lambda v, r: r <= 1),
            (f"{label} CPU (s)", ours["cpu"], boto["cpu"], baseline, "<= 0.5x boto3", lambda v, r: r <= 0.5),
            (f"{label} peak RSS (MiB)", ours["rss_mib"], boto["rss_mib"], baseline, f"<= {bound} MiB", lambda v, r: v <= bound),
        ]
    header = ("figure", "rolloutd", "baseline", "ratio", "target", "met", "baseline is")
    lines = []
    for name, value, baseline, source, target, met in rows:
        ratio = value / baseline if baseline else None
        verdict = "-" if met is None else ("yes" if met(value, ratio) else "NO")
        lines.append((name, _fmt(value), _fmt(baseline), f"{ratio:.2f}x" if ratio is not None else "-", target, verdict, source))
    widths = [max(len(str(row[i])) for row in lines + [header]) for i in range(len(header))]
    out = ["  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)).rstrip()]
    out.append("  ".join("-" * width for width in widths))
    out += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in lines]
    settings = figures.get("settings", {})
    if settings:
        out.append("")
        out.append("settings: " + ", ".join(f"{k} {v}" for k, v in settings.items()))
    return "\n".join(out)


def _fmt(value):
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


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
                "--python", sys.executable, "--json",
            ] + [arg for arg in sys.argv[1:] if arg != "--json"]
            progress("running " + " ".join(command))
            result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
            if result.returncode != 0:
                sys.stdout.write(result.stdout)
                return result.returncode
            figures = json.loads(result.stdout)
            progress("upload benchmark: rolloutd vs boto3 upload_file (its own lines go to stderr)")
            with tempfile.NamedTemporaryFile(prefix="upload-bench.", suffix=".json") as out:
                status = subprocess.call(
                    [sys.executable, os.path.join(os.path.dirname(__file__), "upload_bench.py"), daemon, url,
                     "--runs", os.environ.get("UPLOAD_RUNS", "3"), "--json-out", out.name],
                    stdout=sys.stderr,
                )
                upload = json.load(open(out.name)) if status == 0 else None
            if "--json" in sys.argv[1:]:
                print(json.dumps({"rollout_bench": figures, "upload": upload}, indent=2))
            else:
                print(report(figures, upload))
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
