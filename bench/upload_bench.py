"""Upload benchmark (issue 4): a 256 MiB file into moto through rolloutd vs boto3 `upload_file`,
same moto server, same chunk size, one run each. Prints table rows like rollout-bench's.

Usage: python3 bench/upload_bench.py DAEMON MOTO_URL [--size-mib 256] [--chunk-mib 8] [--runs 1]
DAEMON is the rolloutd binary to measure (any build: `.build/release/rolloutd`, or a scratch
path such as `.build-upload-release/release/rolloutd`). With --runs N both uploads are repeated
N times (a fresh rolloutd each time, both objects deleted after each run so moto's memory stays
flat); every run is printed, and the table shows the medians. rolloutd CPU is read from /proc/<pid>/stat (utime+stime) before and after the upload; the caller's
CPU is this process's rusage (a raw socket client); boto3 runs in a subprocess that reports its own
wall time, CPU and peak RSS. rolloutd uses its default upload_concurrency (4), boto3 its default
max_concurrency (10).
"""
import argparse
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402
from benchlib import median, proc_cpu_seconds  # noqa: E402

CONCURRENCY = int(os.environ.get("UPLOAD_CONCURRENCY", "4"))

BOTO3_UPLOAD = r"""
import json, resource, sys, time
import boto3
from boto3.s3.transfer import TransferConfig
url, bucket, path, chunk = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
s3 = boto3.client("s3", endpoint_url=url, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
config = TransferConfig(multipart_threshold=chunk, multipart_chunksize=chunk)
before = resource.getrusage(resource.RUSAGE_SELF)
start = time.monotonic()
s3.upload_file(path, bucket, "boto3.bin", Config=config)
wall = time.monotonic() - start
after = resource.getrusage(resource.RUSAGE_SELF)
cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
print(json.dumps({"wall": wall, "cpu": cpu, "rss_mib": after.ru_maxrss / 1024}))
"""


def vm_hwm_mib(pid):
    kib = benchlib.proc_status_kib(pid, "VmHWM")
    return kib / 1024 if kib is not None else float("nan")


def rolloutd_upload(daemon, moto, bucket, path, chunk, root):
    sock = os.path.join(root, "u.sock")
    config = os.path.join(root, "u.toml")
    with open(config, "w") as f:
        f.write(f'[server]\nsocket = "{sock}"\nstate_dir = "{root}/state"\nfile_roots = ["{os.path.dirname(path)}"]\n'
                f'[cloud]\nprovider = "aws"\nregion = "us-east-1"\n'
                f'[cloud.aws.s3]\nbucket = "{bucket}"\nforce_path_style = true\nmultipart_chunk_bytes = {chunk}\nupload_concurrency = {CONCURRENCY}\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_ENDPOINT_URL=moto,
               AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE="/nonexistent", AWS_SHARED_CREDENTIALS_FILE="/nonexistent")
    proc = subprocess.Popen([daemon, "--config", config, "--log-level", "warning"], env=env,
                            stdout=subprocess.DEVNULL, stderr=open(os.path.join(root, "u.log"), "w"))
    try:
        deadline = time.monotonic() + 15
        while not os.path.exists(sock):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("rolloutd did not start")
            time.sleep(0.01)
        client = socket.socket(socket.AF_UNIX)
        client.connect(sock)
        request = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "object.put",
                              "params": {"key": "rolloutd.bin", "path": path}}).encode() + b"\n"
        cpu_before = proc_cpu_seconds(proc.pid)
        self_before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.monotonic()
        client.sendall(request)
        response = b""
        while not response.endswith(b"\n"):
            response += client.recv(65536)
        wall = time.monotonic() - start
        self_after = resource.getrusage(resource.RUSAGE_SELF)
        cpu = proc_cpu_seconds(proc.pid) - cpu_before
        caller = (self_after.ru_utime + self_after.ru_stime) - (self_before.ru_utime + self_before.ru_stime)
        result = json.loads(response)
        if "error" in result:
            raise RuntimeError(f"object.put failed: {result['error']}")
        return {"wall": wall, "cpu": cpu + caller, "rss_mib": vm_hwm_mib(proc.pid), "parts": result["result"]["parts"]}
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("daemon")
    parser.add_argument("moto")
    parser.add_argument("--size-mib", type=int, default=256)
    parser.add_argument("--chunk-mib", type=int, default=8)
    parser.add_argument("--runs", type=int, default=1, help="repeat both uploads; the table shows medians")
    parser.add_argument("--json-out", help="also write the medians and every run as JSON to this file")
    args = parser.parse_args()
    import boto3
    bucket = "bench-upload"
    s3 = boto3.client("s3", endpoint_url=args.moto, region_name="us-east-1", aws_access_key_id="testing",
                      aws_secret_access_key="testing")
    s3.create_bucket(Bucket=bucket)
    runs = []
    root = tempfile.mkdtemp(prefix="ub", dir="/tmp")
    try:
        path = os.path.join(root, "files", "upload.bin")
        os.makedirs(os.path.dirname(path))
        block = os.urandom(1 << 20)
        with open(path, "wb") as f:
            for i in range(args.size_mib):
                f.write(block[i % 251:] + block[:i % 251])
        chunk = args.chunk_mib << 20
        for run in range(max(1, args.runs)):
            ours = rolloutd_upload(args.daemon, args.moto, bucket, path, chunk, root)
            boto = json.loads(subprocess.check_output([sys.executable, "-c", BOTO3_UPLOAD, args.moto, bucket, path, str(chunk)]))
            runs.append((ours, boto))
            if args.runs > 1:
                for key in ("rolloutd.bin", "boto3.bin"):
                    s3.delete_object(Bucket=bucket, Key=key)
                print(f"run {run + 1}: wall {ours['wall']:.2f} vs {boto['wall']:.2f} s, CPU {ours['cpu']:.2f} vs {boto['cpu']:.2f} s, "
                      f"peak RSS {ours['rss_mib']:.1f} vs {boto['rss_mib']:.1f} MiB (rolloutd vs boto3)", flush=True)
    except Exception:
        log = os.path.join(root, "u.log")
        if os.path.exists(log):
            print(open(log).read()[-2000:], file=sys.stderr)
        raise
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ours = {name: median([o[name] for o, _ in runs]) for name in ("wall", "cpu", "rss_mib")}
    boto = {name: median([b[name] for _, b in runs]) for name in ("wall", "cpu", "rss_mib")}
    ours["parts"] = runs[0][0]["parts"]
    label = f"{args.size_mib} MiB upload"
    rows = [
        (f"{label} wall (s)", ours["wall"], boto["wall"], "<= boto3"),
        (f"{label} CPU (s)", ours["cpu"], boto["cpu"], "<= 0.5x boto3"),
        (f"{label} peak RSS (MiB)", ours["rss_mib"], boto["rss_mib"], "-"),
    ]
    print(f"{'':30}{'':14}baseline: boto3 upload_file, {args.chunk_mib} MiB chunks, same moto"
          + (f"; medians of {len(runs)} runs" if len(runs) > 1 else ""))
    for name, a, b, target in rows:
        print(f"{name:30}{a:<14.2f}{b:<28.2f}{a / b:<9.2f}{target}")
    print("CPU: rolloutd's utime+stime plus the calling client's; boto3's whole process")
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"size_mib": args.size_mib, "chunk_mib": args.chunk_mib, "concurrency": CONCURRENCY,
                       "rolloutd": ours, "boto3": boto, "runs": [{"rolloutd": o, "boto3": b} for o, b in runs]}, out)
    print(f"rolloutd: {ours['parts']} parts, upload_concurrency {CONCURRENCY} (UPLOAD_CONCURRENCY); boto3: max_concurrency 10 (its default)")


if __name__ == "__main__":
    main()
