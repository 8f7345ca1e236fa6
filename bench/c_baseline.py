#!/usr/bin/env python3
"""Idle RSS of bench/echo_server.c (a C thread-per-connection NDJSON server), measured like
rollout-bench measures rolloutd's: serve 8 connections x 500 pings, close them, wait one second,
read VmRSS. make bench prints it beside rolloutd's idle RSS and the Python asyncio baseline's.

    python3 bench/c_baseline.py --server .build/bench/echo-server [--json-out FILE]
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pings(path, count):
    with socket.socket(socket.AF_UNIX) as conn:
        conn.connect(path)
        reader = conn.makefile("rb")
        for i in range(count):
            conn.sendall(b'{"jsonrpc":"2.0","id":%d,"method":"sys.ping"}\n' % i)
            if json.loads(reader.readline())["id"] != i:
                raise RuntimeError("wrong id")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--server", required=True)
    parser.add_argument("--json-out")
    args = parser.parse_args()
    directory = tempfile.mkdtemp(prefix="c-baseline-")
    path = os.path.join(directory, "c.sock")
    proc = subprocess.Popen([args.server, path], stdout=subprocess.PIPE)
    try:
        if proc.stdout.readline().strip() != b"ready":
            raise RuntimeError("the C server did not start")
        failures = []

        def client():
            try:
                pings(path, 500)
            except Exception as error:  # noqa: BLE001 - reported below
                failures.append(error)

        threads = [threading.Thread(target=client) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if failures:
            raise RuntimeError(f"the C server answered wrongly: {failures[0]!r}")
        time.sleep(1)
        figures = {"idle_rss_mib": round(rss_kib(proc.pid) / 1024, 2)}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    print(f"C thread-per-connection server: idle RSS {figures['idle_rss_mib']} MiB", file=sys.stderr)
    if args.json_out:
        with open(args.json_out, "w") as f:
            json.dump(figures, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
