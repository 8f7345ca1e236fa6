"""Fleet chaos (SPEC §11, issue 13): 3 daemons of one fleet, 10 deployments with short intervals
started through random daemons (fleet-wide idempotency keys make a retry on another daemon safe),
a few stopped or promoted through random daemons, while a seeded chaos thread SIGKILLs (sometimes
with the state directory: machine loss) and SIGSTOPs daemons for a bounded time, restarting and
thawing them. Then every deployment must end terminal, with its alias unsplit and on the version
its status says, and every (deployment, event) notified exactly once. The notifications go to a
FIFO topic: a random SIGKILL or SIGSTOP can land between a publish and its confirmation, a window
only the `deploymentId:event` MessageDeduplicationId closes (reference/fleet-leases.md).

`FLEET_CHAOS_SEED` and `FLEET_CHAOS_SECS` override the seed and the length of the chaos."""
import os
import random
import statistics
import threading
import time

from .conftest import (LEASE_SECS, TERMINAL, AliasWatcher, alias_state, assert_valid_path, event_text, event_time,
                       expected_notifications, log, settle_notifications, start_params)

SEED = int(os.environ.get("FLEET_CHAOS_SEED", "20261206"))
CHAOS_SECS = float(os.environ.get("FLEET_CHAOS_SECS", "60"))
DEPLOYMENTS = 10
RECOVERABLE = {-32001, -32002, -32003, -32004, -32800}


class Chaos:
    """The fleet under a seeded schedule of SIGKILL / machine loss / SIGSTOP. Keeps at least one
    daemon running and unfrozen, so the fleet as a whole can always make progress."""

    def __init__(self, daemons, rng):
        self.daemons, self.rng = daemons, rng
        self.lock = threading.Lock()
        self.disruptions = []   # (wall time, node_id, kind) — kind: kill, lose, freeze
        self.restores = []      # (monotonic due, daemon, kind) — kind: restart, thaw
        self.counts = {"kill": 0, "lose": 0, "freeze": 0}
        self.stop_flag = threading.Event()
        self.errors = []
        self.thread = threading.Thread(target=self.run, daemon=True)

    def healthy(self):
        with self.lock:
            return [d for d in self.daemons if d.alive and not d.frozen]

    def restore(self, force=False):
        now = time.monotonic()
        due = [r for r in self.restores if force or r[0] <= now]
        for r in due:
            self.restores.remove(r)
            _, d, kind = r
            if kind == "thaw":
                with self.lock:
                    d.thaw()
                log(f"chaos: SIGCONT {d.node_id}")
            else:
                try:
                    d.start()
                    log(f"chaos: restarted {d.name} as {d.node_id}")
                except AssertionError as exc:
                    self.errors.append(f"restart of {d.name} failed: {exc}")

    def run(self):
        end = time.monotonic() + CHAOS_SECS
        while time.monotonic() < end and not self.stop_flag.is_set():
            time.sleep(self.rng.uniform(1.5, 4.0))
            self.restore()
            healthy = self.healthy()
            if len(healthy) < 2:
                continue
            victim = self.rng.choice(healthy)
            kind = self.rng.choice(["kill", "lose", "freeze", "freeze"])
            with self.lock:
                self.disruptions.append((time.time(), victim.node_id, kind))
                self.counts[kind] += 1
                if kind == "freeze":
                    victim.freeze()
                    # Half of the freezes outlast the lease (an adoption races the wake-up).
                    self.restores.append((time.monotonic() + self.rng.uniform(1.0, 3.0 * LEASE_SECS), victim, "thaw"))
                else:
                    victim.kill(lose_machine=(kind == "lose"))
                    self.restores.append((time.monotonic() + self.rng.uniform(0.5, 6.0), victim, "restart"))
            log(f"chaos: {kind} {victim.node_id}")
        self.restore(force=True)


def call_with_retry(chaos, rng, method, params, deadline_s=90, call_timeout=10):
    """A keyed call sent to a random healthy daemon; on a dead/frozen daemon or a recoverable
    error, retried with the same key on another one. Returns (result, daemon node_id) or raises.
    `timeoutMs` (the same on every attempt) makes a daemon that waits for the key's execution
    elsewhere answer in time (InProgress / DeadlineExceeded, recoverable) rather than be cut off."""
    params = {**params, "timeoutMs": int(call_timeout * 800)}
    deadline = time.monotonic() + deadline_s
    last = None
    while time.monotonic() < deadline:
        healthy = chaos.healthy()
        if not healthy:
            time.sleep(0.2)
            continue
        d = rng.choice(healthy)
        try:
            msg = d.call(method, params, timeout=call_timeout)
        except (OSError, EOFError) as exc:
            last = f"{d.node_id}: {exc!r}"
            time.sleep(0.2)
            continue
        if "error" in msg:
            last = f"{d.node_id}: {msg['error']}"
            if msg["error"]["code"] in RECOVERABLE:
                time.sleep(0.3)
                continue
            raise AssertionError(f"{method} {params} on {d.node_id}: {msg['error']}")
        return msg["result"], d.node_id
    raise AssertionError(f"{method} {params} did not succeed within {deadline_s} s; last: {last}")


def adoption_times(deployments, disruptions, nodes, starters):
    """Adoptions seen in the events (SPEC §11: node_id is shown in events). The driver of a
    deployment is the node that answered its start (unless that answer was a replay), then the
    node the latest event names; an event naming another node shortly after the driver was
    disrupted is that node's adoption, timed from the disruption. When the first driver is not
    known, the latest disruption of any other node within the window is used."""
    times = []
    for dep in deployments:
        driver = starters.get(dep["deploymentId"])
        for e in dep["events"]:
            text = event_text(e)
            named = [n for n in nodes if n in text]
            if len(named) != 1:
                # An adoption event may name both the old and the new owner: the new one is the
                # one that is not the current driver.
                named = [n for n in named if n != driver]
                if len(named) != 1:
                    continue
            node = named[0]
            if node != driver:
                at = event_time(e)
                # Only a change of driver shortly after the old driver was disrupted counts (an
                # event may also name a node that merely relayed a command).
                before = [t for t, n, _ in disruptions
                          if (n == driver if driver else n != node) and at - 4 * LEASE_SECS <= t <= at]
                if before:
                    times.append(at - max(before))
            driver = node
    return times


def test_fleet_chaos(fleet, lambdas, fifo_topic, capsys):
    rng = random.Random(SEED)
    calls_rng = random.Random(SEED + 1)
    daemons = fleet(3, names=["c1", "c2", "c3"])
    functions = lambdas(DEPLOYMENTS)
    client = lambdas.client
    # Random SIGKILL/SIGSTOP can land between a publish and its confirmation: a FIFO topic.
    topic_arn, inbox = fifo_topic
    chaos = Chaos(daemons, rng)
    plans, started, commands, failures = {}, {}, {}, []

    def driver():
        """Starts the deployments every few seconds through random daemons; stops two and
        promotes one through random daemons a little later."""
        for i, fn in enumerate(functions):
            commanded = {1: "rollout.stop", 5: "rollout.promote", 7: "rollout.stop"}.get(i)
            if commanded:
                # Long enough that the command lands mid-flight, even after an adoption.
                strategy = {"type": "canary", "percent": 20, "intervalSeconds": 12}
                plans[fn] = [0.2]
            elif calls_rng.random() < 0.5:
                strategy = {"type": "linear", "percent": 50, "intervalSeconds": calls_rng.randint(3, 6)}
                plans[fn] = [0.5]
            else:
                strategy = {"type": "canary", "percent": 20, "intervalSeconds": calls_rng.randint(4, 8)}
                plans[fn] = [0.2]
            params = start_params(fn, strategy, notifyTopicArn=topic_arn, idempotencyKey=f"chaos-start-{SEED}-{i}")
            try:
                result, node = call_with_retry(chaos, calls_rng, "rollout.start", params)
                started[fn] = {"deploymentId": result["deploymentId"], "node": node, "at": time.time(),
                               "replayed": result.get("replayed", False)}
                log(f"chaos: started {result['deploymentId']} on {fn} through {node}")
            except AssertionError as exc:
                failures.append(str(exc))
                continue
            if commanded:
                time.sleep(1.5)
                dep = started[fn]["deploymentId"]
                try:
                    result, node = call_with_retry(chaos, calls_rng, commanded,
                                                   {"deploymentId": dep, "idempotencyKey": f"chaos-{commanded}-{SEED}-{i}"},
                                                   deadline_s=60, call_timeout=15)
                    commands[dep] = (commanded, node, result)
                    log(f"chaos: {commanded} {dep} through {node} -> {result}")
                except AssertionError as exc:
                    failures.append(str(exc))
            time.sleep(CHAOS_SECS * 0.7 / DEPLOYMENTS)

    began = time.monotonic()
    with AliasWatcher(client, functions, period=0.3) as watcher:
        chaos.thread.start()
        starter = threading.Thread(target=driver, daemon=True)
        starter.start()
        starter.join(timeout=CHAOS_SECS + 240)
        chaos.thread.join(timeout=CHAOS_SECS + 120)
        assert not chaos.thread.is_alive() and not starter.is_alive()
        chaos.restore(force=True)
        for d in daemons:          # the fleet is whole again
            if d.frozen:
                d.thaw()
            if not d.alive:
                d.start()
        log(f"chaos: over after {time.monotonic() - began:.1f} s: {chaos.counts}; waiting for the deployments")

        # Every deployment of every function, as the fleet reports it, until all are terminal.
        deadline = time.monotonic() + 90
        while True:
            reported = {}
            for fn in functions:
                try:
                    reported[fn] = daemons[0].result("rollout.list", {"function": fn}, timeout=15)["deployments"]
                except (OSError, EOFError, AssertionError):
                    reported[fn] = None
            pending = [fn for fn, deps in reported.items() if deps is None or any(d["status"] not in TERMINAL for d in deps)]
            if not pending or time.monotonic() > deadline:
                break
            time.sleep(1)
        time.sleep(1.0)
    elapsed = time.monotonic() - began

    deployments, split, wrong, extra, unacked, lost, bad_path = [], [], [], [], [], [], []
    for fn in functions:
        deps = reported[fn] or []
        acked = started.get(fn)
        if acked:
            if acked["deploymentId"] not in [d["deploymentId"] for d in deps]:
                lost.append((fn, acked["deploymentId"]))
        else:
            unacked.append(fn)
        if len(deps) > 1:
            extra.append((fn, [d["deploymentId"] for d in deps]))
        state = alias_state(client, fn)
        if state[1]:
            split.append((fn, state))
        latest = deps[0] if deps else None
        expected = ("2", {}) if latest and latest["status"] == "Succeeded" else ("1", {})
        if state != expected:
            wrong.append((fn, state, latest and latest["status"]))
        for d in deps:
            deployments.append(d)
        try:
            assert_valid_path(watcher.states(fn), plans[fn])
        except AssertionError as exc:
            bad_path.append((fn, str(exc)))
    terminal = [d for d in deployments if d["status"] in TERMINAL]
    counts, missing = settle_notifications(inbox, terminal)
    duplicates = sum(n - 1 for n in counts.values() if n > 1)
    unexpected = [(dep, e) for (dep, e) in counts
                  if not any(d["deploymentId"] == dep and e in expected_notifications(d) for d in terminal)]
    starters = {v["deploymentId"]: v["node"] for v in started.values() if not v["replayed"]}
    times = adoption_times(deployments, chaos.disruptions, {n for d in daemons for n in d.node_ids}, starters)
    for d in deployments:
        log(f"chaos: {d['deploymentId']} {d['status']}: " + "; ".join(f"{e['type']} {e['detail']}" for e in d["events"]))
    median = f"{statistics.median(times):.2f}" if times else "n/a"
    worst = f"{max(times):.2f}" if times else "n/a"
    statuses = {s: sum(1 for d in deployments if d["status"] == s) for s in ("Succeeded", "Stopped", "Failed")}
    report = []
    report.append(f"fleet chaos: seed={SEED} chaos_s={CHAOS_SECS:.0f} kills={chaos.counts['kill']} "
        f"machine_losses={chaos.counts['lose']} freezes={chaos.counts['freeze']} elapsed_s={elapsed:.0f} "
        f"statuses={statuses}")
    report.append(f"fleet chaos: deployments={len(deployments)} terminal={len(terminal)} split={len(split)} "
        f"wrong_version={len(wrong)} duplicate_notifications={duplicates} missing_notifications={len(missing)} "
        f"lost_deployments={len(lost)} bad_alias_paths={len(bad_path)} "
        f"adoptions={len(times)} adoption_s median={median} worst={worst}")
    with capsys.disabled():     # shown even when the test passes
        print("\n" + "\n".join(report), flush=True)

    assert not chaos.errors, chaos.errors
    assert not failures, failures
    assert not unacked, f"rollout.start never acknowledged for {unacked}"
    assert not lost, f"acknowledged deployments the fleet does not list: {lost}"
    assert len(deployments) == DEPLOYMENTS and not extra, f"deployments={len(deployments)}, more than one per alias: {extra}"
    assert len(terminal) == len(deployments), [(d["deploymentId"], d["status"]) for d in deployments if d not in terminal]
    assert not split, split
    assert not wrong, wrong
    assert not bad_path, bad_path
    assert duplicates == 0, {k: n for k, n in counts.items() if n > 1}
    assert not missing, sorted(missing)
    assert not unexpected, unexpected
    for dep, (method, node, result) in commands.items():
        final = next(d for d in deployments if d["deploymentId"] == dep)
        if method == "rollout.stop" and result["status"] == "Stopped":
            assert final["status"] == "Stopped" and final["rolledBack"] is True, (dep, final["status"])
        if method == "rollout.promote" and result["status"] == "Succeeded":
            assert final["status"] == "Succeeded", (dep, final["status"])
