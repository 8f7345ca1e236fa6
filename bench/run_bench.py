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
5. Unless FASTSINK=0: runs bench/sink_upload_bench.py ($UPLOAD_SIZE_MIB MiB, default 1024, into
   s3-sink ($SINK, default .build/bench/s3-sink) through rolloutd, boto3 and the raw ceiling,
   unpaced and paced to $FASTSINK_PACE_MBPS, default 1250, and paced with the sink not verifying
   ($FASTSINK_MODES); $UPLOAD_RUNS runs, medians).
6. Unless SOAK_SECONDS=0: runs bench/soak.py on the local provider and on this moto
   ($SOAK_PROVIDERS, default local,moto): the mix for $SOAK_SECONDS per provider (default 300,
   so 10 minutes of mix in all) and each method alone for $SOAK_METHOD_SECONDS (default 30; 0
   skips them).
7. Prints one table: each figure, its baseline from this same run, the ratio, the target and whether
   it was met (or all figures as JSON with --json). Stops moto, whatever happened.

Usage, from the repository root: [BIN_DIR=.build/release] python3 bench/run_bench.py [rollout-bench args]
BIN_DIR defaults to .build/release; extra arguments (--requests, --seconds, --json, ...) go to
rollout-bench. Progress goes to stderr.
"""

import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import format_table, start_moto, stop  # noqa: E402
from sink_upload_bench import mode_label  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SECRET_NAME = "bench/token"
SECRET_VALUE = "x" * 64


def progress(message):
    print(f"run_bench: {message}", file=sys.stderr, flush=True)


def create_secret(url):
    import boto3

    client = boto3.client(
        "secretsmanager", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )
    client.create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)


def report(figures, upload, sink=None, soak=None):
    """One table: each figure, its baseline measured in the same run, the ratio, the target."""
    daemon, base, aws, sigv4 = figures["rolloutd"], figures["baseline"], figures["aws"], figures["sigv4"]
    python = "Python asyncio NDJSON server"
    rows = [
        # (figure, ours, baseline, baseline is, target text, met(ours, ratio) or None)
        ("sys.ping p50 (us)", daemon["ping_p50_us"], base["ping_p50_us"], python, "<= 50 us", lambda v, r: v <= 50),
        ("sys.ping p99 (us)", daemon["ping_p99_us"], base["ping_p99_us"], python, "-", None),
        ("pipelined req/s, 8 conns", daemon["pipelined_rps"], base["pipelined_rps"], python, ">= 2x baseline", lambda v, r: r >= 2),
        ("idle RSS (MiB)", daemon["idle_rss_mib"], base["idle_rss_mib"], python, "<= 20 MiB", lambda v, r: v <= 20),
    ]
    if "c_baseline" in figures:
        rows.append(("idle RSS (MiB)", daemon["idle_rss_mib"], figures["c_baseline"]["idle_rss_mib"],
                     "C thread-per-connection NDJSON server", "<= 20 MiB", lambda v, r: v <= 20))
    rows += [
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
    notes = []
    if sink:
        rows += sink_rows(sink)
        notes += sink_notes(sink)
    if soak:
        rows += soak_rows(soak)
        notes += soak_notes(soak)
    header = ("figure", "rolloutd", "baseline", "ratio", "target", "met", "baseline is")
    lines = []
    for name, value, baseline, source, target, met in rows:
        ratio = value / baseline if baseline else None
        verdict = "-" if met is None else met if isinstance(met, str) else ("yes" if met(value, ratio) else "NO")
        lines.append((name, _fmt(value), _fmt(baseline), f"{ratio:.2f}x" if ratio is not None else "-", target, verdict, source))
    out = format_table(header, lines)
    settings = figures.get("settings", {})
    if settings:
        out.append("")
        out.append("settings: " + ", ".join(f"{k} {v}" for k, v in settings.items()))
    if notes:
        out.append("")
        out += notes
    return "\n".join(out)


def sink_rows(sink):
    """Rows of the fast-sink upload benchmark (bench/sink_upload_bench.py): MB/s against the raw
    ceiling and against boto3, CPU, cold-cache read_bytes. The goals apply to the modes where the
    sink verifies checksums; a -noverify mode is for diagnosis."""
    rows = []
    size = sink["size_bytes"]
    for mode in sink["modes"]:
        m = mode["median"]
        ours, raw, boto = m["rolloutd"], m["raw"], m["boto3"]
        name = f"{sink['size_mib']} MiB to sink, {mode_label(mode)}"
        paced, goals = bool(mode["pace_mbps"]), mode["verify"]
        rows.append((f"{name} (MB/s)", ours["mbps"], raw["mbps"], "raw no-hash multipart ceiling",
                     ">= 0.9x raw" if paced and goals else "-", (lambda v, r: r >= 0.9) if paced and goals else None))
        if "ceiling_verified" in m:
            rows.append((f"{name} (MB/s)", ours["mbps"], m["ceiling_verified"]["mbps"], "raw, the sink verifying every part",
                         "-", None))
        rows += [
            (f"{name} (MB/s)", ours["mbps"], boto["mbps"], "boto3 upload_file",
             ">= 1.8x boto3" if goals and not paced else "-", (lambda v, r: r >= 1.8) if goals and not paced else None),
            (f"{name} wall (s)", ours["wall"], raw["wall"], "raw no-hash multipart ceiling", "-", None),
            (f"{name} CPU (s)", ours["cpu"], boto["cpu"], "boto3 upload_file", "-", None),
            (f"{name} CPU (s)", ours["cpu"], raw["cpu"], "raw no-hash multipart ceiling", "-", None),
        ]
        cold = m["rolloutd_cold"]
        rows.append((f"{name}, cold cache: read_bytes (MiB)", cold["read_bytes"] / 2**20, size / 2**20, "the file's size",
                     "= file size (each byte read once)", lambda v, r: 0.99 <= r <= 1.01))
    return rows


def sink_notes(sink):
    lines = [f"{sink['size_mib']} MiB to s3-sink: {sink['chunk_mib']} MiB parts; rolloutd and raw {sink['concurrency']} "
             f"parts at a time, boto3 max_concurrency 10 (its default); medians of {sink['runs']}"]
    for mode in sink["modes"]:
        m = mode["median"]
        name = mode_label(mode)
        if "ceiling_verified" in m:
            c = m["ceiling_verified"]
            lines.append(f"  sink ceiling ({name}): {m['raw']['mbps']:,.0f} MB/s with the raw client and no checksum; "
                         f"{c['mbps']:,.0f} MB/s with every part's SHA-256 verified (sink CPU {c['sink_cpu']:.2f} s per upload)")
        lines.append(f"  {name}: wall s rolloutd {m['rolloutd']['wall']:.2f} / raw {m['raw']['wall']:.2f} / boto3 "
                     f"{m['boto3']['wall']:.2f}; sink CPU s {m['rolloutd']['sink_cpu']:.2f} / {m['raw']['sink_cpu']:.2f} / "
                     f"{m['boto3']['sink_cpu']:.2f}")
        lines.append(f"  {name}: rolloutd read_bytes per cold run (MiB): "
                     + ", ".join(f"{c['read_bytes'] / 2**20:,.1f}" for c in mode["cold"])
                     + "; rchar per warm run (MiB): " + ", ".join(f"{r['rolloutd']['rchar'] / 2**20:,.1f}" for r in mode["runs"]))
        stats = mode.get("sink_stats") or {}
        lines.append(f"  {name}: sink counted {stats.get('verified_sha256', '?')} verified SHA-256 checksums, "
                     f"{stats.get('bad_digest', '?')} BadDigest, {stats.get('unverified_checksums', '?')} checksums "
                     "not verified (boto3's CRC32; all of them when the sink does not verify)")
    return lines


def soak_rows(soak):
    """One row per soak run: the RSS slope in MiB per million requests after warm-up."""
    rows = []
    target = soak["target"]
    for run in soak["runs"]:
        clean = (not run["unexpected_errors"] and not run["crashed"] and not run["daemon_died"]
                 and run["exit_status"] in (None, 0))
        rows.append((f"soak {run['provider']} {run['scenario']}: RSS MiB/M req", run["slope_mib_per_million"], None,
                     f"- ({run['rate']:,.0f} req/s, {run['requests'] / 1e6:.2f} M req"
                     + (")" if clean else f"; {run['unexpected_errors']} unexpected errors)"),
                     f"<= {target:g} MiB/M", run["verdict"]))
    return rows


def soak_notes(soak):
    runs = soak["runs"]
    lines = [f"soak: {soak['clients']} clients, one request in flight each; RSS slope fitted after the first "
             f"{soak['warmup_fraction']:.0%} of each run (bench/soak.py prints the scenarios and RSS start/end); "
             f"n/r = over the target but under {soak['noise_mib']:g} MiB of growth after warm-up: too few requests to "
             f"tell (raise SOAK_METHOD_SECONDS)"]
    for run in runs:
        for method, entry in run["errors"].items():
            lines.append(f"  soak {run['provider']} {run['scenario']}: {entry['count']} unexpected errors from {method}")
    return lines


def _fmt(value):
    if value is None:
        return "-"
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}" if value < 100 else f"{value:.1f}"


def run_step(arguments):
    """Runs one of the benchmark scripts next to this one with --json-out; its output goes to stderr.
    Returns (exit status, its JSON or None)."""
    with tempfile.NamedTemporaryFile(prefix="bench-step.", suffix=".json") as out:
        status = subprocess.call([sys.executable, os.path.join(HERE, arguments[0])] + arguments[1:] + ["--json-out", out.name],
                                 stdout=sys.stderr)
        try:
            with open(out.name) as f:
                return status, json.load(f)
        except ValueError:
            return status or 1, None


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
            loads = [("rollout-bench", os.getloadavg()[0])]
            progress("running " + " ".join(command))
            result = subprocess.run(command, stdout=subprocess.PIPE, text=True)
            if result.returncode != 0:
                sys.stdout.write(result.stdout)
                return result.returncode
            figures = json.loads(result.stdout)
            echo_c = os.environ.get("ECHO_C", ".build/bench/echo-server")
            if os.access(echo_c, os.X_OK):
                progress("idle RSS of the C thread-per-connection baseline")
                c_status, c_baseline = run_step(["c_baseline.py", "--server", echo_c])
                if c_baseline:
                    figures["c_baseline"] = c_baseline
            progress("upload benchmark: rolloutd vs boto3 upload_file (its own lines go to stderr)")
            loads.append(("moto upload", os.getloadavg()[0]))
            runs = os.environ.get("UPLOAD_RUNS", "3")
            status, upload = run_step(["upload_bench.py", daemon, url, "--runs", runs])
            sink = soak = None
            if os.environ.get("FASTSINK", "1") != "0":
                progress("fast-sink upload benchmark: rolloutd vs boto3 vs the raw ceiling into s3-sink")
                loads.append(("fast-sink upload", os.getloadavg()[0]))
                sink_status, sink = run_step([
                    "sink_upload_bench.py", "--daemon", daemon, "--sink", os.environ.get("SINK", ".build/bench/s3-sink"),
                    "--size-mib", os.environ.get("UPLOAD_SIZE_MIB", "1024"), "--runs", runs,
                    "--pace-mbps", os.environ.get("FASTSINK_PACE_MBPS", "1250"),
                    "--modes", os.environ.get("FASTSINK_MODES", "unpaced,paced,paced-noverify")])
                status = status or sink_status
            if os.environ.get("SOAK_SECONDS", "300") != "0":
                progress("soak: RSS per million requests, local provider and moto")
                loads.append(("soak", os.getloadavg()[0]))
                soak_status, soak = run_step([
                    "soak.py", "--daemon", daemon, "--moto-endpoint", url,
                    "--providers", os.environ.get("SOAK_PROVIDERS", "local,moto"),
                    "--mix-seconds", os.environ.get("SOAK_SECONDS", "300"),
                    "--method-seconds", os.environ.get("SOAK_METHOD_SECONDS", "30")])
                status = status or soak_status
            loads.append(("end", os.getloadavg()[0]))
            if "--json" in sys.argv[1:]:
                print(json.dumps({"rollout_bench": figures, "upload": upload, "sink_upload": sink, "soak": soak,
                                  "load_average_1min": dict(loads)}, indent=2))
            else:
                print(report(figures, upload, sink, soak))
                print(f"load average (1 min) on {os.cpu_count()} CPUs, as each part started: "
                      + ", ".join(f"{name} {load:.1f}" for name, load in loads)
                      + " (other work on the machine shares the CPUs with every figure above)")
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
