#!/usr/bin/env python3
"""Fast-sink upload benchmark (issue 14): one file (1 GiB by default) into s3-sink on loopback,
through rolloutd, through boto3 `upload_file`, and through the raw no-hash ceiling
(bench/raw_upload.py), unpaced and with the sink paced to --pace-mbps; medians of --runs.

Usage: python3 bench/sink_upload_bench.py --daemon .build/release/rolloutd --sink .build/bench/s3-sink
           [--size-mib 1024] [--chunk-mib 16] [--concurrency 4] [--runs 3] [--pace-mbps 1250]
           [--modes unpaced,paced,paced-noverify] [--json-out FILE]

Modes: `unpaced` and `paced` (to --pace-mbps) with the sink verifying every checksum, and the same
with `-noverify`: the sink run with --no-verify, which hashes nothing, to show the uploader without
the sink's SHA-256 work competing for the same CPUs (diagnosis; the sink's own ceiling is not
measured there). For each mode a fresh s3-sink and a fresh rolloutd (provider aws,
`endpoint_url` = the sink, `force_path_style`, static test credentials) are started. In a
verifying mode the raw client first measures the sink's own ceiling with every part verified
(`raw_upload.py --checksum`: SHA-256s computed before the clock starts). Then each round runs the
three uploaders in a rotating order with the file in the page cache, and one more rolloutd
upload with the file evicted first (posix_fadvise DONTNEED): rolloutd's /proc/<pid>/io
`read_bytes` over that upload is what it read from storage (the file size when each byte is read
once). `rchar` (bytes returned by read calls, page cache or not) is recorded for every rolloutd
upload.

CPU: rolloutd's utime+stime from /proc/<pid>/stat around the upload; boto3 and the raw client
report their own rusage around the upload; the sink's own CPU is recorded beside each. MB/s are
10^6 bytes per second of wall time. A sink answer of BadDigest fails the run. Progress and
per-run lines go to stderr; the medians as a table to stdout.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from upload_bench import BOTO3_UPLOAD  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
BUCKET = "bench"
UPLOADERS = ("raw", "rolloutd", "boto3")
UPLOAD_TIMEOUT = 900  # seconds: one upload that takes longer fails the benchmark


def progress(message):
    benchlib.progress("sink_upload_bench", message)


def make_file(path, size_mib):
    """`size_mib` MiB of incompressible bytes (one random MiB, rotated per MiB), flushed to storage."""
    block = os.urandom(1 << 20)
    with open(path, "wb") as f:
        for i in range(size_mib):
            f.write(block[i % 251:] + block[:i % 251])
        f.flush()
        os.fsync(f.fileno())


def stats_delta(before, after):
    return {k: after[k] - before[k] for k in after}


class Daemon:
    """A rolloutd on provider aws whose S3 endpoint is the sink, and one connection to it."""

    def __init__(self, binary, root, sink_url, chunk, concurrency, files):
        os.makedirs(root, exist_ok=True)
        self.socket = os.path.join(root, "s.sock")
        config = os.path.join(root, "s.toml")
        with open(config, "w") as f:
            f.write(f'[server]\nsocket = "{self.socket}"\nstate_dir = "{root}/state"\nfile_roots = ["{files}"]\n'
                    f'[cloud]\nprovider = "aws"\nregion = "us-east-1"\n'
                    f'[cloud.aws.s3]\nbucket = "{BUCKET}"\nendpoint_url = "{sink_url}"\nforce_path_style = true\n'
                    f'multipart_chunk_bytes = {chunk}\nupload_concurrency = {concurrency}\n')
        self.log = os.path.join(root, "s.log")
        self.proc = benchlib.start_daemon(binary, config, self.socket, self.log, env=benchlib.aws_env())
        self.rpc = benchlib.RPC(self.socket, timeout=UPLOAD_TIMEOUT)
        self.count = 0

    def upload(self, path):
        self.count += 1
        pid = self.proc.pid
        io_before, cpu_before = benchlib.proc_io(pid), benchlib.proc_cpu_seconds(pid)
        start = time.monotonic()
        response = self.rpc.call("object.put", {"key": f"rolloutd-{self.count}.bin", "path": path})
        wall = time.monotonic() - start
        cpu = benchlib.proc_cpu_seconds(pid) - cpu_before
        io_after = benchlib.proc_io(pid)
        if "error" in response:
            raise RuntimeError(f"object.put failed: {response['error']}")
        return {"wall": wall, "cpu": cpu, "parts": response["result"]["parts"],
                "read_bytes": io_after["read_bytes"] - io_before["read_bytes"],
                "rchar": io_after["rchar"] - io_before["rchar"]}

    def stop(self):
        self.rpc.sock.close()
        return benchlib.stop(self.proc, timeout=30)


def run_raw(sink_url, path, chunk, concurrency, key, checksum=False):
    command = [sys.executable, os.path.join(HERE, "raw_upload.py"), sink_url, BUCKET, key, path,
               "--chunk-bytes", str(chunk), "--concurrency", str(concurrency)]
    if checksum:
        command.append("--checksum")
    return json.loads(subprocess.check_output(command, timeout=UPLOAD_TIMEOUT))


def run_boto3(sink_url, path, chunk):
    output = subprocess.check_output([sys.executable, "-c", BOTO3_UPLOAD, sink_url, BUCKET, path, str(chunk)],
                                     env=benchlib.aws_env(), timeout=UPLOAD_TIMEOUT)
    return json.loads(output)


def measure(kind, size, run_upload, sink):
    """Runs one upload, adding MB/s, the sink's CPU and what the sink counted during it."""
    stats_before, sink_cpu_before = benchlib.sink_stats(sink["url"]), benchlib.proc_cpu_seconds(sink["pid"])
    result = run_upload()
    result["sink_cpu"] = benchlib.proc_cpu_seconds(sink["pid"]) - sink_cpu_before
    result["sink"] = stats_delta(stats_before, benchlib.sink_stats(sink["url"]))
    result["mbps"] = size / result["wall"] / 1e6
    if result["sink"]["bad_digest"] or result["sink"]["bad_content_sha256"]:
        raise RuntimeError(f"{kind}: the sink rejected a checksum: {result['sink']}")
    return result


MODES = ("unpaced", "paced", "unpaced-noverify", "paced-noverify")


def mode_label(mode):
    """"unpaced", "paced 1250 MB/s", "... , sink not verifying"."""
    label = f"paced {mode['pace_mbps']:g} MB/s" if mode["pace_mbps"] else "unpaced"
    return label if mode["verify"] else label + ", sink not verifying"


def run_mode(args, name, path, size, root):
    """One sink (paced or not, verifying or not) and one rolloutd; returns this mode's runs and medians."""
    chunk = args.chunk_mib << 20
    pace_mbps = args.pace_mbps if name.startswith("paced") else 0
    verify = not name.endswith("-noverify")
    mode = {"name": name, "pace_mbps": pace_mbps, "verify": verify, "runs": [], "cold": [], "ceiling": []}
    label = mode_label(mode)
    sink_proc, sink_url = benchlib.start_sink(args.sink, pace_mbps=pace_mbps, verify=verify)
    sink = {"url": sink_url, "pid": sink_proc.pid}
    daemon = None
    try:
        for run in range(args.runs if verify else 0):
            benchlib.warm_cache(path)
            result = measure("raw --checksum", size, lambda: run_raw(
                sink_url, path, chunk, args.concurrency, "ceiling.bin", checksum=True), sink)
            mode["ceiling"].append(result)
            progress(f"{label}: sink ceiling run {run + 1}, every part verified: {result['mbps']:,.0f} MB/s "
                     f"(sink CPU {result['sink_cpu']:.2f} s)")
        daemon = Daemon(args.daemon, os.path.join(root, name), sink_url, chunk,
                        args.concurrency, os.path.dirname(path))
        uploads = {
            "raw": lambda: run_raw(sink_url, path, chunk, args.concurrency, "raw.bin"),
            "rolloutd": lambda: daemon.upload(path),
            "boto3": lambda: run_boto3(sink_url, path, chunk),
        }
        for run in range(args.runs):
            order = UPLOADERS[run % 3:] + UPLOADERS[:run % 3]
            results = {}
            for kind in order:
                benchlib.warm_cache(path)
                results[kind] = measure(kind, size, uploads[kind], sink)
            mode["runs"].append(results)
            progress(f"{label}: run {run + 1} (order {', '.join(order)}): " + "; ".join(
                f"{kind} {results[kind]['mbps']:,.0f} MB/s, {results[kind]['wall']:.2f} s, CPU {results[kind]['cpu']:.2f} s"
                for kind in UPLOADERS))
            benchlib.drop_cache(path)
            cold = measure("rolloutd, cold cache", size, lambda: daemon.upload(path), sink)
            mode["cold"].append(cold)
            progress(f"{label}: run {run + 1} cold cache: rolloutd {cold['mbps']:,.0f} MB/s, read_bytes "
                     f"{cold['read_bytes'] / 2**20:,.1f} MiB, rchar {cold['rchar'] / 2**20:,.1f} MiB (file {size / 2**20:,.0f} MiB)")
        mode["daemon_exit"] = daemon.stop()
        daemon = None
    except Exception:
        if daemon is not None:
            print(benchlib.tail(daemon.log), file=sys.stderr)
        raise
    finally:
        if daemon is not None:
            daemon.stop()
        benchlib.stop(sink_proc)
        final = sink_proc.stdout.read().strip().splitlines()
        mode["sink_stats"] = json.loads(final[-1]) if final else None
    mode["median"] = {
        kind: {name: benchlib.median([run[kind][name] for run in mode["runs"]])
               for name in ("wall", "mbps", "cpu", "sink_cpu")}
        for kind in UPLOADERS
    }
    mode["median"]["rolloutd"]["rchar"] = benchlib.median([run["rolloutd"]["rchar"] for run in mode["runs"]])
    mode["median"]["rolloutd_cold"] = {
        name: benchlib.median([cold[name] for cold in mode["cold"]]) for name in ("wall", "mbps", "cpu", "sink_cpu", "read_bytes", "rchar")}
    if mode["ceiling"]:
        mode["median"]["ceiling_verified"] = {
            name: benchlib.median([run[name] for run in mode["ceiling"]]) for name in ("wall", "mbps", "sink_cpu")}
    return mode


def table(result):
    """The medians, one line per uploader and mode."""
    size = result["size_bytes"]
    lines = [f"{result['size_mib']} MiB to s3-sink, {result['chunk_mib']} MiB parts, rolloutd and raw "
             f"{result['concurrency']} at a time, boto3 max_concurrency 10; medians of {result['runs']}"]
    header = ("mode", "uploader", "wall s", "MB/s", "CPU s", "sink CPU s", "vs raw", "vs boto3")
    rows = []
    for mode in result["modes"]:
        name = mode["name"]
        medians = mode["median"]
        if "ceiling_verified" in medians:
            c = medians["ceiling_verified"]
            rows.append((name, "raw, sink verifying", f"{c['wall']:.2f}", f"{c['mbps']:,.0f}", "-", f"{c['sink_cpu']:.2f}",
                         "-", "-"))
        for kind in UPLOADERS + ("rolloutd_cold",):
            m = medians[kind]
            rows.append((name, kind.replace("_", ", "), f"{m['wall']:.2f}", f"{m['mbps']:,.0f}", f"{m['cpu']:.2f}",
                         f"{m['sink_cpu']:.2f}" if "sink_cpu" in m else "-",
                         f"{m['mbps'] / medians['raw']['mbps']:.2f}x", f"{m['mbps'] / medians['boto3']['mbps']:.2f}x"))
        cold = medians["rolloutd_cold"]
        lines.append(f"{name}: rolloutd cold cache read_bytes {cold['read_bytes'] / 2**20:,.1f} MiB, rchar "
                     f"{cold['rchar'] / 2**20:,.1f} MiB for a {size / 2**20:,.0f} MiB file (median)")
    return "\n".join(lines[:1] + benchlib.format_table(header, rows) + lines[1:])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemon", required=True, help="the rolloutd binary (release)")
    parser.add_argument("--sink", required=True, help="the s3-sink binary")
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--chunk-mib", type=int, default=16, help="part size of all three (rolloutd's default)")
    parser.add_argument("--concurrency", type=int, default=4, help="parts in flight, rolloutd and raw")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--pace-mbps", type=float, default=1250, help="the paced modes' link (MB/s)")
    parser.add_argument("--modes", default="unpaced,paced,paced-noverify",
                        help=f"comma-separated, in order, from {', '.join(MODES)}")
    parser.add_argument("--json-out", help="also write every run and the medians as JSON here")
    args = parser.parse_args()
    modes = [m for m in args.modes.split(",") if m]
    if not modes or set(modes) - set(MODES):
        parser.error(f"--modes takes a comma-separated list of {', '.join(MODES)}")
    if args.pace_mbps <= 0 and any(m.startswith("paced") for m in modes):
        parser.error("a paced mode needs --pace-mbps > 0")
    if args.size_mib * (1 << 20) <= args.chunk_mib << 20:
        parser.error("--size-mib must be larger than --chunk-mib (the benchmark is about multipart uploads)")
    root = tempfile.mkdtemp(prefix="sb", dir="/tmp")
    try:
        path = os.path.join(root, "files", "upload.bin")
        os.makedirs(os.path.dirname(path))
        progress(f"writing {args.size_mib} MiB to {path}")
        make_file(path, args.size_mib)
        size = os.path.getsize(path)
        result = {"size_mib": args.size_mib, "size_bytes": size, "chunk_mib": args.chunk_mib,
                  "concurrency": args.concurrency, "runs": args.runs, "modes": []}
        for name in modes:
            result["modes"].append(run_mode(args, name, path, size, root))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump(result, out)
    print(table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
