#!/usr/bin/env python3
"""Soak (issue 14): does rolloutd's memory stay flat under load? 4 clients on the Unix socket
against a release rolloutd, on the local provider and on moto: a mix of every method the
provider serves for --mix-seconds, then each method (scenario) alone for --method-seconds.
VmRSS is sampled every second; after the warm-up (the first --warmup-fraction of each run) a
least-squares line of RSS over the requests answered so far gives the slope in MiB per million
requests. Target: <= 1 MiB per million, for every method and for the mix.

Usage: python3 bench/soak.py --daemon .build/release/rolloutd [--providers local,moto]
           [--mix-seconds 300] [--method-seconds 30] [--clients 4] [--warmup-fraction 0.2]
           [--only NAME[,NAME...]] [--moto-endpoint URL] [--json-out FILE]

One rolloutd (--log-level warning) per provider serves all its runs, the mix first (so the
per-method runs start with a warmed-up daemon: allocator arenas, SQLite caches); it is stopped
with SIGTERM after the provider's last run and must exit 0 (if it dies during a run, that run is
NO and the next one starts a new rolloutd). Each run lets each client set up what its scenarios
need (one object to read), then starts the clock.
Each client is its own process with one connection and one request in flight: it answers its
request and sends the next, until the run's deadline. Requests are counted when answered.
A scenario that needs other calls to be repeatable (a receipt to ack, an object to delete)
makes them, and they count as requests: the name says what one pass of it sends.
Responses that are errors are counted: expected ones (ReadOnly for secret.put, Unsupported for
rollout.* on local) apart from unexpected ones, which the table shows and which make the run
exit 1. With the moto provider a moto_server is started (or --moto-endpoint used) and a bucket,
a queue and a secret are created in it with boto3; rollout.* is left out there (it would need
Lambda). Progress goes to stderr, the table to stdout.
"""
import argparse
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402

SECRET_NAME = "soak/token"
SECRET_VALUE = "s" * 64
READ_ONLY, UNSUPPORTED = -32015, -32017
ROLLOUT_METHODS = ("rollout.plan", "rollout.start", "rollout.get", "rollout.list", "rollout.wait", "rollout.pause",
                   "rollout.resume", "rollout.promote", "rollout.stop", "rollout.reportHook")
COUNTERS = 3  # per client: requests answered, unexpected errors, expected errors


def progress(message):
    benchlib.progress("soak", message)


class Client:
    """One connection, one request in flight; counts into its slots of the shared array."""

    def __init__(self, socket_path, index, counters):
        self.rpc = benchlib.RPC(socket_path)
        self.index = index
        self.counters = counters
        self.base = index * COUNTERS
        self.step = 0
        self.errors = {}            # method -> [count, first error]
        self.prefix = f"soak/c{index}/"

    def call(self, method, params=None, expect=None, parse=False):
        """One request. Returns the result when `parse`, else True; None when it was an error."""
        request = {"jsonrpc": "2.0", "id": 1, "method": method}
        if params is not None:
            request["params"] = params
        line = self.rpc.send_line(json.dumps(request, separators=(",", ":")).encode() + b"\n")
        self.counters[self.base] += 1
        head = line[:40]
        if b'"result"' in head and not parse:
            return True
        response = json.loads(line)
        if "result" in response:
            return response["result"]
        error = response.get("error", {})
        if expect is not None and error.get("code") == expect:
            self.counters[self.base + 2] += 1
        else:
            self.counters[self.base + 1] += 1
            entry = self.errors.setdefault(method, [0, error])
            entry[0] += 1
        return None

    # ---- scenarios: one pass each ------------------------------------------------------------

    def setup(self, provider):
        self.call("object.put", {"key": self.prefix + "fixed", "text": "x" * 256})

    def ping(self):
        self.call("sys.ping")

    def health(self):
        self.call("sys.health")

    def discover(self):
        self.call("rpc.discover")

    def object_put(self):
        self.step += 1
        self.call("object.put", {"key": f"{self.prefix}k{self.step % 64}", "text": "p" * 200,
                                 "metadata": {"n": str(self.step)}})

    def object_put_replayed(self):
        self.call("object.put", {"key": self.prefix + "idem", "text": "same bytes",
                                 "idempotencyKey": f"soak-c{self.index}-idem"})

    def object_get(self):
        self.call("object.get", {"key": self.prefix + "fixed"})

    def object_head(self):
        self.call("object.head", {"key": self.prefix + "fixed"})

    def object_list(self):
        self.call("object.list", {"prefix": self.prefix, "limit": 10})

    def object_delete(self):
        key = self.prefix + "gone"
        self.call("object.put", {"key": key, "text": "d" * 64})
        self.call("object.delete", {"key": key})

    def _receipts(self, count):
        result = self.call("queue.receive", {"max": count, "waitSeconds": 0}, parse=True)
        return [m["receipt"] for m in result["messages"]] if result else []

    def queue_send(self):
        self.call("queue.send", {"body": f"m{self.index}"})
        for receipt in self._receipts(1):
            self.call("queue.ack", {"receipt": receipt})

    def queue_send_batch(self):
        self.call("queue.sendBatch", {"messages": [{"body": f"b{self.index}.{i}"} for i in range(5)]})
        receipts = self._receipts(5)
        if receipts:
            self.call("queue.ackBatch", {"receipts": receipts})

    def queue_receive(self):
        receipts = self._receipts(10)
        if receipts:  # leftovers (a nacked message, another scenario's): drain them
            self.call("queue.ackBatch", {"receipts": receipts})

    def queue_nack(self):
        self.call("queue.send", {"body": f"n{self.index}"})
        for receipt in self._receipts(1):
            self.call("queue.nack", {"receipt": receipt, "delaySeconds": 0})
        for receipt in self._receipts(1):
            self.call("queue.ack", {"receipt": receipt})

    def queue_extend(self):
        self.call("queue.send", {"body": f"e{self.index}"})
        for receipt in self._receipts(1):
            self.call("queue.extend", {"receipt": receipt, "visibilitySeconds": 60})
            self.call("queue.ack", {"receipt": receipt})

    def secret_get(self):
        self.call("secret.get", {"name": SECRET_NAME})

    def secret_refresh(self):
        self.call("secret.get", {"name": SECRET_NAME, "refresh": True})

    def secret_put(self):
        self.call("secret.put", {"name": SECRET_NAME, "value": "nope"}, expect=READ_ONLY)

    def compute_hint(self):
        self.call("compute.hint")

    def rollout(self):
        self.step += 1
        self.call(ROLLOUT_METHODS[self.step % len(ROLLOUT_METHODS)], {}, expect=UNSUPPORTED)


# name -> (what one pass sends, Client method, weight in the mix, providers it runs on)
SCENARIOS = {
    "sys.ping": ("sys.ping", Client.ping, 4, ("local", "moto")),
    "sys.health": ("sys.health", Client.health, 1, ("local", "moto")),
    "rpc.discover": ("rpc.discover (the whole OpenRPC document)", Client.discover, 0, ("local", "moto")),
    "object.put": ("object.put, 200 B inline, 64 keys per client", Client.object_put, 2, ("local", "moto")),
    "object.put replayed": ("object.put with one idempotencyKey (replayed)", Client.object_put_replayed, 1, ("local", "moto")),
    "object.get": ("object.get, 256 B", Client.object_get, 2, ("local", "moto")),
    "object.head": ("object.head", Client.object_head, 2, ("local", "moto")),
    "object.list": ("object.list, limit 10", Client.object_list, 1, ("local", "moto")),
    "object.delete": ("object.put + object.delete", Client.object_delete, 1, ("local", "moto")),
    "queue.send": ("queue.send + receive + ack", Client.queue_send, 1, ("local", "moto")),
    "queue.sendBatch": ("queue.sendBatch 5 + receive + ackBatch", Client.queue_send_batch, 1, ("local", "moto")),
    "queue.receive": ("queue.receive max 10 (+ ackBatch of any leftovers)", Client.queue_receive, 1, ("local", "moto")),
    "queue.nack": ("queue.send + receive + nack + receive + ack", Client.queue_nack, 1, ("local", "moto")),
    "queue.extend": ("queue.send + receive + extend + ack", Client.queue_extend, 1, ("local", "moto")),
    "secret.get": ("secret.get, cached", Client.secret_get, 4, ("local", "moto")),
    "secret.get refresh": ("secret.get refresh:true", Client.secret_refresh, 1, ("local", "moto")),
    "secret.put": ("secret.put (ReadOnly)", Client.secret_put, 1, ("local", "moto")),
    "compute.hint": ("compute.hint", Client.compute_hint, 1, ("local", "moto")),
    "rollout.*": ("rollout.* in turn, all 10 (Unsupported)", Client.rollout, 1, ("local",)),
}
DISCOVER_EVERY = 500  # the mix sends rpc.discover once every this many passes


def mix_sequence(provider, seed):
    """The mix: every scenario of the provider by weight, shuffled per client."""
    sequence = [name for name, (_, _, weight, providers) in SCENARIOS.items() if provider in providers for _ in range(weight)]
    random.Random(seed).shuffle(sequence)
    return sequence


def client_main(socket_path, index, counters, scenario, provider, ready, go, deadline, report_path):
    """A client process: set up, say it is ready, wait for the start, run passes until the
    deadline, write a report."""
    report = {"errors": {}, "crashed": None}
    client = None
    try:
        client = Client(socket_path, index, counters)
        client.setup(provider)
        counters[index * COUNTERS] = 0
    except Exception as error:  # noqa: BLE001 - reported by the parent
        report["crashed"] = f"setup: {error!r}"
    try:
        ready.wait(60)
        if report["crashed"] is None and go.wait(60):
            sequence = mix_sequence(provider, index) if scenario == "mix" else [scenario]
            passes = 0
            while time.monotonic() < deadline.value:
                name = sequence[passes % len(sequence)]
                if scenario == "mix" and passes % DISCOVER_EVERY == DISCOVER_EVERY - 1:
                    name = "rpc.discover"
                SCENARIOS[name][1](client)
                passes += 1
    except Exception as error:  # noqa: BLE001 - reported by the parent
        report["crashed"] = repr(error)
    if client is not None:
        report["errors"] = {method: {"count": count, "first": first} for method, (count, first) in client.errors.items()}
    with open(report_path, "w") as f:
        json.dump(report, f)


class Provider:
    """A provider's config, environment and directories, reused by every run on it."""

    def __init__(self, name, root, moto_url=None):
        self.name = name
        self.root = os.path.join(root, name)
        os.makedirs(os.path.join(self.root, "files"), exist_ok=True)
        self.socket = os.path.join(self.root, "r.sock")
        self.config = os.path.join(self.root, "rollout.toml")
        self.log = os.path.join(self.root, "rolloutd.log")
        server = (f'[server]\nsocket = "{self.socket}"\nstate_dir = "{self.root}/state"\n'
                  f'file_roots = ["{self.root}/files"]\n')
        if name == "local":
            local = os.path.join(self.root, "local")
            os.makedirs(local, exist_ok=True)
            with open(os.path.join(local, "secrets.toml"), "w") as f:
                f.write(f'"{SECRET_NAME}" = "{SECRET_VALUE}"\n')
            text = server + f'[cloud]\nprovider = "local"\n[cloud.local]\nroot = "{local}"\nsecrets_allowlist = ["{SECRET_NAME}"]\n'
            self.env = None
        else:
            queue_url = create_moto_resources(moto_url)
            text = server + (f'[cloud]\nprovider = "aws"\nregion = "us-east-1"\n'
                             f'[cloud.aws.s3]\nbucket = "soak"\nforce_path_style = true\n'
                             f'[cloud.aws.sqs]\nqueue_url = "{queue_url}"\n'
                             f'[cloud.aws.secrets]\nallowlist = ["{SECRET_NAME}"]\ncache_ttl_secs = 3600\n')
            self.env = benchlib.aws_env(AWS_ENDPOINT_URL=moto_url)
        with open(self.config, "w") as f:
            f.write(text)

    def scenarios(self):
        return [name for name, (_, _, _, providers) in SCENARIOS.items() if self.name in providers]


def create_moto_resources(url):
    """The bucket, queue and secret the moto provider's runs use; returns the queue URL."""
    import boto3

    options = dict(endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                   aws_secret_access_key="testing")
    boto3.client("s3", **options).create_bucket(Bucket="soak")
    secrets = boto3.client("secretsmanager", **options)
    try:
        secrets.create_secret(Name=SECRET_NAME, SecretString=SECRET_VALUE)
    except secrets.exceptions.ResourceExistsException:  # a moto this script used before (--moto-endpoint)
        secrets.put_secret_value(SecretId=SECRET_NAME, SecretString=SECRET_VALUE)
    return boto3.client("sqs", **options).create_queue(QueueName="soak")["QueueUrl"]


def run(proc, provider, scenario, seconds, clients, warmup_fraction):
    """One run against the running rolloutd `proc`: `clients` client processes, VmRSS every
    second; returns its figures."""
    context = multiprocessing.get_context("fork")
    counters = context.Array("q", clients * COUNTERS, lock=False)
    ready = context.Barrier(clients + 1)
    go = context.Event()
    deadline = context.Value("d", time.monotonic() + 3600, lock=False)
    reports = [os.path.join(provider.root, f"client{i}.json") for i in range(clients)]
    workers = [context.Process(target=client_main, args=(provider.socket, i, counters, scenario, provider.name, ready,
                                                         go, deadline, reports[i])) for i in range(clients)]
    samples = []
    hwm = None
    try:
        for worker in workers:
            worker.start()
        ready.wait(60)  # every client has made its setup calls
        start = time.monotonic()
        deadline.value = start + seconds
        go.set()
        while True:
            now = time.monotonic()
            rss = benchlib.proc_status_kib(proc.pid, "VmRSS") if proc.poll() is None else None
            if rss is None:
                break
            requests = sum(counters[i * COUNTERS] for i in range(clients))
            samples.append((now - start, requests, rss))
            if now >= start + seconds:
                break
            time.sleep(min(1.0, start + seconds - now))
        elapsed = time.monotonic() - start
        for worker in workers:
            worker.join(timeout=90)
            if worker.is_alive():
                worker.terminate()
                worker.join()
        hwm = benchlib.proc_status_kib(proc.pid, "VmHWM") if proc.poll() is None else None
    finally:
        for worker in workers:
            if worker.is_alive():
                worker.kill()
    client_reports = []
    for path in reports:
        try:
            with open(path) as f:
                client_reports.append(json.load(f))
            os.unlink(path)
        except (OSError, ValueError):
            client_reports.append({"errors": {}, "crashed": "no report"})
    requests = sum(counters[i * COUNTERS] for i in range(clients))
    warm = [(t, n, rss) for t, n, rss in samples if t >= warmup_fraction * seconds]
    fitted, stderr = benchlib.slope([n / 1e6 for _, n, _ in warm], [rss / 1024 for _, _, rss in warm])
    errors = {}
    for report in client_reports:
        for method, entry in report["errors"].items():
            merged = errors.setdefault(method, {"count": 0, "first": entry["first"]})
            merged["count"] += entry["count"]
    return {
        "provider": provider.name, "scenario": scenario,
        "sends": "every method, weighted" if scenario == "mix" else SCENARIOS[scenario][0],
        "seconds": elapsed, "requests": requests, "rate": requests / elapsed if elapsed else 0,
        "rss_start_mib": samples[0][2] / 1024 if samples else None, "rss_warm_mib": warm[0][2] / 1024 if warm else None,
        "rss_end_mib": samples[-1][2] / 1024 if samples else None, "hwm_mib": hwm / 1024 if hwm else None,
        "slope_mib_per_million": fitted, "slope_stderr": stderr, "warm_samples": len(warm),
        "warm_requests": (warm[-1][1] - warm[0][1]) if warm else 0,
        "unexpected_errors": sum(counters[i * COUNTERS + 1] for i in range(clients)),
        "expected_errors": sum(counters[i * COUNTERS + 2] for i in range(clients)),
        "errors": errors, "crashed": [r["crashed"] for r in client_reports if r["crashed"]],
        "daemon_died": proc.poll() is not None, "exit_status": proc.returncode, "samples": samples,
    }


def verdict(result, target, noise_mib):
    """"yes" when the slope is within the target, "NO" when it is over it, or "n/r" (not resolved)
    when it is over it but the growth it stands for after warm-up (slope x requests) is under
    `noise_mib`: too few requests in the run to tell such a slope from RSS noise (or too few
    samples to fit a line at all). A run with
    unexpected errors, a crashed client, rolloutd dying during it or (the provider's last run)
    rolloutd not exiting 0 on SIGTERM is "NO" whatever its slope."""
    fitted = result["slope_mib_per_million"]
    if result["unexpected_errors"] or result["crashed"] or result["daemon_died"] or result["exit_status"] not in (None, 0):
        return "NO"
    if fitted is None:  # under 3 samples after warm-up: a run of a few seconds
        return "n/r"
    if fitted <= target:
        return "yes"
    return "n/r" if fitted * result["warm_requests"] / 1e6 < noise_mib else "NO"


def table(results, target):
    header = ("provider", "run", "requests", "req/s", "RSS warm->end MiB", "slope MiB/M", "+-", "target", "met", "errors",
              "one pass sends")
    rows = []
    for r in results:
        s = r["slope_mib_per_million"]
        rows.append((
            r["provider"], r["scenario"], f"{r['requests']:,}", f"{r['rate']:,.0f}",
            f"{r['rss_warm_mib'] or 0:.1f} -> {r['rss_end_mib'] or 0:.1f}", "-" if s is None else f"{s:.2f}",
            "-" if r["slope_stderr"] is None else f"{r['slope_stderr']:.2f}", f"<= {target:g}",
            r["verdict"], f"{r['unexpected_errors']} unexpected, {r['expected_errors']} expected"
            + (", ROLLOUTD DIED" if r["daemon_died"] and r["exit_status"] is None else "")
            + (f", exit {r['exit_status']}" if r["exit_status"] not in (None, 0) else "")
            + (", CLIENT CRASHED" if r["crashed"] else ""),
            r["sends"]))
    lines = benchlib.format_table(header, rows)
    for r in results:
        for method, entry in r["errors"].items():
            lines.append(f"{r['provider']} {r['scenario']}: {entry['count']} unexpected errors from {method}, first: "
                         f"{json.dumps(entry['first'])[:300]}")
        for crash in r["crashed"]:
            lines.append(f"{r['provider']} {r['scenario']}: a client stopped early: {crash}")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--daemon", required=True)
    parser.add_argument("--providers", default="local,moto")
    parser.add_argument("--mix-seconds", type=float, default=300, help="the mix, per provider (0 skips it)")
    parser.add_argument("--method-seconds", type=float, default=30, help="each scenario alone (0 skips them)")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--warmup-fraction", type=float, default=0.2)
    parser.add_argument("--target", type=float, default=1.0, help="MiB per million requests")
    parser.add_argument("--noise-mib", type=float, default=1.0,
                        help="a slope over the target whose growth after warm-up is under this is 'n/r' (not resolved)")
    parser.add_argument("--only", help="comma-separated scenario names (and/or 'mix') to run")
    parser.add_argument("--moto-endpoint", help="a running moto server (default: start one)")
    parser.add_argument("--json-out")
    args = parser.parse_args()
    only = set(args.only.split(",")) if args.only else None
    unknown = (only or set()) - set(SCENARIOS) - {"mix"}
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; known: mix, {', '.join(SCENARIOS)}")
    providers = [p for p in args.providers.split(",") if p]
    if set(providers) - {"local", "moto"}:
        parser.error("--providers takes local and/or moto")
    root = tempfile.mkdtemp(prefix="sk", dir="/tmp")
    results = []
    moto = None
    moto_log = tempfile.TemporaryFile(prefix="moto-log.")
    try:
        for name in providers:
            moto_url = None
            if name == "moto":
                moto_url = args.moto_endpoint
                if not moto_url:
                    progress("starting moto_server")
                    moto, moto_url = benchlib.start_moto(moto_log)
            provider = Provider(name, root, moto_url)
            plan = []
            if args.mix_seconds > 0:
                plan.append(("mix", args.mix_seconds))
            if args.method_seconds > 0:
                plan += [(scenario, args.method_seconds) for scenario in provider.scenarios()]
            plan = [(s, t) for s, t in plan if only is None or s in only]
            daemon = None
            try:
                for scenario, seconds in plan:
                    if daemon is None or daemon.poll() is not None:
                        daemon = benchlib.start_daemon(args.daemon, provider.config, provider.socket, provider.log,
                                                       env=provider.env)
                    progress(f"{name}: {scenario} for {seconds:g} s, {args.clients} clients")
                    result = run(daemon, provider, scenario, seconds, args.clients, args.warmup_fraction)
                    results.append(result)
                    s = result["slope_mib_per_million"]
                    progress(f"{name}: {scenario}: {result['requests']:,} requests, {result['rate']:,.0f}/s, RSS "
                             f"{result['rss_start_mib'] or 0:.1f} -> {result['rss_end_mib'] or 0:.1f} MiB, slope "
                             f"{'-' if s is None else f'{s:.2f}'} MiB per million, {result['unexpected_errors']} unexpected errors"
                             + (", ROLLOUTD DIED: " + benchlib.tail(provider.log, 500) if result["daemon_died"] else ""))
            finally:
                if daemon is not None and daemon.poll() is None:
                    status = benchlib.stop(daemon, timeout=30)
                    if results and results[-1]["provider"] == name:
                        results[-1]["exit_status"] = status
            for result in results:
                if result["provider"] == name:
                    result["verdict"] = verdict(result, args.target, args.noise_mib)
            if moto is not None:
                benchlib.stop(moto)
                moto = None
    finally:
        if moto is not None:
            benchlib.stop(moto)
        moto_log.close()
        shutil.rmtree(root, ignore_errors=True)
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump({"target": args.target, "noise_mib": args.noise_mib, "clients": args.clients, "warmup_fraction": args.warmup_fraction,
                       "runs": results}, out)
    print(table(results, args.target))
    return 0 if all(not r["unexpected_errors"] and not r["crashed"] and not r["daemon_died"]
                    and r["exit_status"] in (None, 0) for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
