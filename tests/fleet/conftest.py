"""Several rolloutd daemons of one fleet (SPEC §11) on one moto_server, with boto3 as the
independent observer (reference/fleet-leases.md, "Testing it": assert on the alias as boto3 sees
it, not on what the daemons report).

Every daemon has its own root (config, state dir, socket, log), `[fleet] backend = "dynamodb"`
on one table created with `rolloutctl fleet init`, `lease_secs = 5` and a distinct `node_id`.
Machine loss is SIGKILL plus deleting the state directory; a frozen driver is SIGSTOP/SIGCONT.

Binaries come from `$ROLLOUT_BIN_DIR`, else `./.build/debug` (tests/conftest.py).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.aws_provider.conftest import run_moto
from tests.aws_provider.test_aws_provider import aws_env
from tests.aws_provider.test_rollouts import function_with_two_versions, lambda_role
from tests.conftest import BIN_DIR, Conn

LEASE_SECS = 5
RENEW_SECS = LEASE_SECS / 3
# SPEC §11: adoption within lease_secs plus one renewal period. The allowance covers what the
# test itself adds on a loaded 2-core machine: the observer's poll interval (POLL_SECS), one
# sys.health round trip and scheduling delay of a daemon sharing the cores with builds
# (`FLEET_TIMING_ALLOWANCE_SECS` overrides it; the spec's part of the bound is not negotiable).
POLL_SECS = 0.2
ALLOWANCE_SECS = float(os.environ.get("FLEET_TIMING_ALLOWANCE_SECS", "1.5"))
ADOPTION_BOUND_SECS = LEASE_SECS + RENEW_SECS + ALLOWANCE_SECS


def log(*args):
    print(*args, flush=True)


@pytest.fixture(scope="session")
def moto():
    """One moto_server for the fleet tests."""
    yield from run_moto()


@pytest.fixture
def boto(moto):
    import boto3
    return lambda service: boto3.client(service, endpoint_url=moto, region_name="us-east-1",
                                        aws_access_key_id="testing", aws_secret_access_key="testing")


class FleetDaemon:
    """One daemon of the fleet. `node_id` changes with every restart (`<name>-g<generation>z`),
    as the default `<hostname>:<pid>:<random>` does: each process is a new node."""

    def __init__(self, name, moto_url, table, lease_secs=LEASE_SECS):
        self.name, self.moto, self.table, self.lease_secs = name, moto_url, table, lease_secs
        self.root = Path(tempfile.mkdtemp(prefix=f"fl{name}", dir="/tmp"))
        self.socket = self.root / "run" / "r.sock"
        self.state_dir = self.root / "state"
        self.config = self.root / "rollout.toml"
        self.log = self.root / "rolloutd.log"
        self.generation = 0
        self.proc = None
        self.frozen = False
        self.node_id = None
        self.node_ids = []      # every node_id this daemon has run as

    def write_config(self):
        self.node_id = f"{self.name}-g{self.generation:02d}z"
        self.node_ids.append(self.node_id)
        (self.root / "files").mkdir(parents=True, exist_ok=True)
        self.config.write_text(f"""
[server]
socket = "{self.socket}"
state_dir = "{self.state_dir}"
file_roots = ["{self.root / 'files'}"]
shutdown_grace_secs = 5
[cloud]
provider = "aws"
region = "us-east-1"
[cloud.aws]
max_attempts = 3
[cloud.aws.rollout]
alarm_poll_secs = 1
[fleet]
backend = "dynamodb"
table = "{self.table}"
lease_secs = {self.lease_secs}
node_id = "{self.node_id}"
endpoint_url = "{self.moto}"
""")

    def env(self):
        environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        environ.update(aws_env(self.moto))
        return environ

    def start(self, timeout=30):
        self.generation += 1
        self.write_config()
        with open(self.log, "ab") as f:
            f.write(f"\n==== start generation {self.generation} node {self.node_id} at {time.time():.3f}\n".encode())
        self.proc = subprocess.Popen([str(BIN_DIR / "rolloutd"), "--config", str(self.config), "--log-level", "debug"],
                                     stdout=subprocess.DEVNULL, stderr=open(self.log, "ab"), cwd=self.root, env=self.env())
        self.frozen = False
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"rolloutd {self.name} exited {self.proc.returncode}: {self.tail()}")
            try:
                with self.connect(timeout=5) as conn:
                    conn.call("sys.ping", timeout=5)
                return self
            except (OSError, EOFError):
                time.sleep(0.05)
        raise AssertionError(f"rolloutd {self.name} did not become ready: {self.tail()}")

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def connect(self, timeout=30):
        conn = Conn(str(self.socket))
        conn.sock.settimeout(timeout)
        return conn

    def call(self, method, params=None, timeout=30):
        """One request on a fresh connection; returns the whole response message."""
        with self.connect(timeout) as conn:
            return conn.call(method, params, timeout=timeout)

    def result(self, method, params=None, timeout=30):
        msg = self.call(method, params, timeout)
        assert "error" not in msg, (self.name, method, params, msg)
        return msg["result"]

    def error(self, method, params=None, timeout=30):
        msg = self.call(method, params, timeout)
        assert "error" in msg, (self.name, method, params, msg)
        return msg["error"]

    def fleet_health(self, timeout=5):
        capabilities = self.result("sys.health", timeout=timeout)["capabilities"]
        assert "fleet" in capabilities, f"{self.name}: sys.health has no capabilities.fleet (SPEC §11): {capabilities}"
        return capabilities["fleet"]

    def owned(self, timeout=5):
        """`sys.health` capabilities.fleet.owned as a count (SPEC §11 names the field, not its
        shape: a number, or a list of the deployments this node drives)."""
        owned = self.fleet_health(timeout)["owned"]
        return len(owned) if isinstance(owned, list) else int(owned)

    def kill(self, lose_machine=False):
        """SIGKILL; with `lose_machine` the state directory goes too (a recycled CI runner)."""
        if self.alive:
            self.proc.send_signal(signal.SIGKILL)   # kills a stopped process too, without letting it run
            self.proc.wait(timeout=10)
        self.frozen = False
        if lose_machine:
            shutil.rmtree(self.state_dir, ignore_errors=True)

    def freeze(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.frozen = True

    def thaw(self):
        if self.alive:
            self.proc.send_signal(signal.SIGCONT)
        self.frozen = False

    def stop(self):
        if self.alive:
            self.thaw()
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)

    def tail(self, n=3000):
        try:
            return self.log.read_text(errors="replace")[-n:]
        except OSError:
            return ""


def fleet_init(moto_url, table):
    """`rolloutctl fleet init` with a throwaway config naming the table and moto's endpoint."""
    root = Path(tempfile.mkdtemp(prefix="flinit", dir="/tmp"))
    config = root / "rollout.toml"
    config.write_text(f'[server]\nsocket = "{root}/s.sock"\nstate_dir = "{root}/state"\nfile_roots = ["{root}/files"]\n'
                      f'[cloud]\nprovider = "aws"\nregion = "us-east-1"\n'
                      f'[fleet]\nbackend = "dynamodb"\ntable = "{table}"\nlease_secs = {LEASE_SECS}\n'
                      f'endpoint_url = "{moto_url}"\n')
    environ = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environ.update(aws_env(moto_url))
    out = subprocess.run([str(BIN_DIR / "rolloutctl"), "fleet", "init", "--config", str(config), "--json"],
                         capture_output=True, text=True, env=environ, timeout=60)
    assert out.returncode == 0, (out.stdout, out.stderr)
    shutil.rmtree(root, ignore_errors=True)
    return json.loads(out.stdout)


@pytest.fixture
def fleet(moto):
    """`fleet(n)` → n started daemons of one fleet on a fresh table. Teardown thaws and stops
    every daemon and prints the tail of each log when the test failed."""
    made = []

    def make(n, names=None):
        table = "fleet-" + uuid.uuid4().hex[:10]
        fleet_init(moto, table)
        names = names or [f"n{i + 1}" for i in range(n)]
        daemons = [FleetDaemon(f"{name}-{uuid.uuid4().hex[:4]}", moto, table) for name in names]
        made.extend(daemons)
        for d in daemons:
            d.start()
        return daemons

    yield make
    for d in made:
        d.stop()
    for d in made:
        log(f"---- log tail of {d.name} ({d.root}):\n{d.tail(1500)}")


@pytest.fixture
def lambdas(moto, boto):
    """`lambdas(n)` → n fresh functions, each with versions 1 and 2 and alias `live` on 1."""
    role = lambda_role(moto, boto)
    client = boto("lambda")

    def make(n):
        return [function_with_two_versions(client, role, "fl-" + uuid.uuid4().hex[:10]) for _ in range(n)]

    make.client = client
    return make


def alias_state(client, function):
    """(FunctionVersion, {version: weight}) of alias `live` as boto3 sees it. moto keeps one
    RevisionId per alias for its life (it neither changes it nor checks it), so changes are
    observed on the version and the routing config."""
    alias = client.get_alias(FunctionName=function, Name="live")
    weights = (alias.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
    return alias["FunctionVersion"], {k: round(v, 6) for k, v in weights.items()}


def is_split(state):
    return bool(state[1])


class AliasWatcher:
    """Samples the aliases of `functions` with boto3 in a thread (every `period` s) and keeps,
    per function, every distinct state with the wall time it was first seen."""

    def __init__(self, client, functions, period=0.1):
        self.client, self.functions, self.period = client, list(functions), period
        self.seen = {f: [] for f in self.functions}
        self.lock = threading.Lock()
        self.stop_flag = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self):
        while not self.stop_flag.is_set():
            for f in self.functions:
                try:
                    version, weights = alias_state(self.client, f)
                except Exception:  # noqa: BLE001 - moto busy; sample again
                    continue
                state = (version, tuple(sorted(weights.items())))
                with self.lock:
                    if not self.seen[f] or self.seen[f][-1][1] != state:
                        self.seen[f].append((time.time(), state))
            time.sleep(self.period)

    def states(self, function):
        with self.lock:
            return [s for _, s in self.seen[function]]

    def changes_after(self, function, t):
        with self.lock:
            return [(at, s) for at, s in self.seen[function] if at > t]

    def caught_up(self, function, state, timeout=15):
        """Waits until the watcher's latest sample of `function` is `state` ((version, {v: w})):
        it records a change when its sample returns, up to a period plus a get_alias later than
        the change itself, so a quiet window must start after this, not at the wait's return."""
        wanted = (state[0], tuple(sorted(state[1].items())))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if self.seen[function] and self.seen[function][-1][1] == wanted:
                    return
            time.sleep(0.02)
        raise AssertionError(f"the watcher never saw {function} at {state}: {self.states(function)}")

    def first_seen(self, function, state, after, timeout=15):
        """The wall time the watcher first saw `state` ((version, {v: w})) after `after`; waits for it."""
        wanted = (state[0], tuple(sorted(state[1].items())))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                for at, s in self.seen[function]:
                    if at > after and s == wanted:
                        return at
            time.sleep(0.05)
        raise AssertionError(f"the alias of {function} did not reach {state} within {timeout} s: {self.states(function)}")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop_flag.set()
        self.thread.join(timeout=15)


def assert_valid_path(states, plan_weights):
    """Every observed state is a point of the deployment 1 → 2 with weights in the plan's order
    (never backwards: a stale driver re-applying an older step shows up as a step back), ending
    either on ("2", ()) or rolled back on ("1", ())."""
    progress = 0.0
    rolled_back = False
    for version, weights in states:
        assert version in ("1", "2"), states
        if weights:
            assert version == "1" and len(weights) == 1 and weights[0][0] == "2", states
            w = weights[0][1]
            assert not rolled_back, f"traffic shifted again after a rollback: {states}"
            assert any(abs(w - p) < 1e-6 for p in plan_weights), (w, plan_weights, states)
            assert w >= progress - 1e-9, f"weight went backwards ({progress} -> {w}): {states}"
            progress = w
        elif version == "2":
            assert not rolled_back, f"alias moved to 2 after a rollback: {states}"
            progress = 1.0
        elif progress > 0:
            rolled_back = True


def make_topic(boto, fifo=False):
    """An SNS topic with an SQS queue subscribed: (topic_arn, Inbox). A FIFO topic delivers to a
    FIFO queue, which drops a message whose MessageDeduplicationId it has seen (5 minutes)."""
    sns, sqs = boto("sns"), boto("sqs")
    name = "fleet-" + uuid.uuid4().hex[:8] + (".fifo" if fifo else "")
    topic_attrs = {"FifoTopic": "true", "ContentBasedDeduplication": "false"} if fifo else {}
    queue_attrs = {"FifoQueue": "true"} if fifo else {}
    topic_arn = sns.create_topic(Name=name, Attributes=topic_attrs)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=name, Attributes=queue_attrs)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, Inbox(sqs, queue_url)


@pytest.fixture
def topic(boto):
    """A standard topic: every publish is delivered, so a second publish of one (deployment,
    event) shows as a duplicate. Used where no disruption can land between a publish and its
    confirmation, so exactly once is achievable there and asserted."""
    return make_topic(boto)


@pytest.fixture
def fifo_topic(boto):
    """A FIFO topic: where a SIGKILL/SIGSTOP may land between a publish and its confirmation, the
    only way to exactly once (reference/fleet-leases.md) is the `deploymentId:event`
    MessageDeduplicationId on a FIFO topic."""
    return make_topic(boto, fifo=True)


class Inbox:
    """Every notification received so far (drained from the subscribed queue)."""

    def __init__(self, sqs, queue_url):
        self.sqs, self.queue_url, self.messages = sqs, queue_url, []

    def drain(self):
        while True:
            got = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10,
                                           WaitTimeSeconds=0).get("Messages", [])
            if not got:
                return self.messages
            for m in got:
                self.messages.append(json.loads(json.loads(m["Body"])["Message"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def counts(self):
        counts = {}
        for m in self.drain():
            key = (m["deploymentId"], m["event"])
            counts[key] = counts.get(key, 0) + 1
        return counts

    def duplicates(self):
        return {k: n for k, n in self.counts().items() if n > 1}


def expected_notifications(deployment):
    """The SNS events a terminal deployment must have produced, each exactly once (§4.6)."""
    events = {"DeploymentStart"}
    status = deployment["status"]
    events.add({"Succeeded": "DeploymentSuccess", "Stopped": "DeploymentStop", "Failed": "DeploymentFailure"}[status])
    if deployment.get("rolledBack"):
        events.add("DeploymentRollback")
    return events


def settle_notifications(inbox, deployments, timeout=15, quiet=2.0):
    """Drains until every terminal deployment's expected events arrived (or `timeout`), then
    keeps draining for `quiet` seconds so late duplicates are counted too. Returns (counts, missing)."""
    deadline = time.monotonic() + timeout
    while True:
        counts = inbox.counts()
        missing = {(d["deploymentId"], e) for d in deployments for e in expected_notifications(d)
                   if (d["deploymentId"], e) not in counts}
        if not missing or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    time.sleep(quiet)
    return inbox.counts(), missing


def event_time(event):
    """An event's `at` (RFC 3339 UTC) as epoch seconds."""
    from datetime import datetime
    return datetime.fromisoformat(event["at"].replace("Z", "+00:00").replace("z", "+00:00")).timestamp()


def event_text(event):
    return json.dumps(event, sort_keys=True)


def first_event_naming(deployment, node_id, after=None):
    """The first event that names `node_id` (SPEC §11: node_id is shown in events)."""
    for e in deployment["events"]:
        if node_id in event_text(e) and (after is None or event_time(e) >= after):
            return e
    return None


def wait_until(predicate, timeout, period=POLL_SECS, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(period)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def start_params(function, strategy, **extra):
    params = {"function": function, "alias": "live", "targetVersion": "2", "strategy": strategy}
    params.update(extra)
    return params


TERMINAL = ("Succeeded", "Failed", "Stopped")
