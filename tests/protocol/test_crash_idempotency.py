"""SPEC §3.2 on the local provider: SIGKILL at random moments under concurrent keyed
object.put, queue.send/sendBatch and queue.receive/ack, then retry every key. The effect and
its record commit in one transaction, so no keyed effect happens twice and no acknowledged one
is lost."""
import base64
import threading
import time

from tests.conftest import Daemon
from tests.crash_loop import Ledger, b64, crash_loop, integrity_check, pipeline, random_bytes, retry_all, seeded

KILLS = 24


class Consumer:
    """Receives and acks, one call at a time, remembering what it saw and what was acked."""

    def __init__(self, ledger):
        self.ledger = ledger
        self.lock = threading.Lock()
        self.received = {}      # messageId -> body
        self.acked = set()      # messageIds whose ack was answered with success (never delivered again)
        self.resurrected = []   # messageIds received again after their ack was answered
        self.deliveries = 0
        self.last_delivery = time.monotonic()

    def run(self, daemon, stop, wait=1):
        try:
            conn = daemon.connect()
        except OSError:
            return
        try:
            while not stop.is_set():
                self.ledger.sent()
                msg = conn.call("queue.receive", {"max": 10, "waitSeconds": wait, "visibilitySeconds": 2})
                for m in msg["result"]["messages"]:
                    with self.lock:
                        self.deliveries += 1
                        self.last_delivery = time.monotonic()
                        if m["messageId"] in self.acked:
                            self.resurrected.append(m["messageId"])
                        self.received[m["messageId"]] = m["body"]
                    self.ledger.sent()
                    if "error" not in conn.call("queue.ack", {"receipt": m["receipt"]}):
                        with self.lock:
                            self.acked.add(m["messageId"])
        except (OSError, EOFError, ValueError, KeyError):
            pass  # killed
        finally:
            conn.close()


def test_sigkill_loop_keeps_keyed_effects_exactly_once():
    d = Daemon()
    ledger = Ledger()
    consumer = Consumer(ledger)
    data = {}  # put key -> bytes

    def put_params(n):
        # ifNoneMatch on a fresh key: a second execution of the put would fail PreconditionFailed.
        data[f"obj-{n}"] = random_bytes(seeded("put", n), 1, 48 * 1024)
        return {"key": f"obj-{n}", "data": b64(data[f"obj-{n}"]), "ifNoneMatch": "*"}

    def put_worker(stop):
        pipeline(d, ledger, lambda: ledger.new("object.put", put_params), stop)

    def send_worker(index):
        rng = seeded("send", index)

        def make():
            if rng.random() < 0.2:
                return ledger.new("queue.sendBatch", lambda n: {"messages": [{"body": f"batch-{n}-{i}"} for i in range(3)]})
            return ledger.new("queue.send", lambda n: {"body": f"send-{n}"})
        return lambda stop: pipeline(d, ledger, make, stop)

    workers = [put_worker, put_worker, send_worker(0), send_worker(1), lambda stop: consumer.run(d, stop)]
    state_db = d.root / "state" / "state.sqlite"
    try:
        figures = crash_loop(d, ledger, workers, seeded("kills"), KILLS, state_db, max_seconds=70)

        # Every key again, all rounds: each is a replay of what was acknowledged.
        retry_all(d, ledger, ledger.order)
        expected = {}
        for key in ledger.order:
            call = ledger.calls[key]
            if call.acked is None:
                continue  # reported below
            if call.method == "queue.send":
                expected[call.acked["messageId"]] = call.params["body"]
            elif call.method == "queue.sendBatch":
                for entry, message in zip(call.acked["results"], call.params["messages"]):
                    expected[entry["messageId"]] = message["body"]

        # Drain the queue until it has been empty for longer than the 2 s leases the kills left.
        # (An ack in flight at a kill may have committed without an answer: that message is
        # gone, as its consumer asked; every message must have been delivered at least once.)
        stop = threading.Event()
        drainer = threading.Thread(target=consumer.run, args=(d, stop, 1), daemon=True)
        drainer.start()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (
                not set(expected) <= set(consumer.received) or time.monotonic() - consumer.last_delivery < 3):
            time.sleep(0.1)
        stop.set()
        drainer.join(timeout=30)

        # Every acknowledged object, byte for byte.
        objects_checked, objects_wrong = 0, []
        with d.connect() as c:
            for key in ledger.order:
                call = ledger.calls[key]
                if call.method != "object.put" or call.acked is None:
                    continue
                got = c.result("object.get", {"key": call.params["key"]})
                if base64.b64decode(got["data"]) != data[call.params["key"]] or got["etag"] != call.acked["etag"]:
                    objects_wrong.append(call.params["key"])
                objects_checked += 1
            left_in_queue = c.result("queue.receive", {"max": 10, "waitSeconds": 0})["messages"]
    finally:
        code = d.stop()
    assert code == 0
    assert integrity_check(state_db) == "ok"

    errors = {key: call.errors for key, call in ledger.calls.items() if call.errors}
    unanswered = [key for key, call in ledger.calls.items() if call.acked is None]
    bodies = {}
    for message_id, body in consumer.received.items():
        bodies.setdefault(body, set()).add(message_id)
    duplicate_sends = sum(len(ids) - 1 for ids in bodies.values()) + len(set(consumer.received) - set(expected))
    duplicate_puts = sum(1 for errs in errors.values() for e in errs if e.get("data", {}).get("reason") == "PreconditionFailed")
    lost = len(set(expected) - set(consumer.received)) + len(consumer.resurrected) + len(objects_wrong)
    counts = {m: sum(1 for c in ledger.calls.values() if c.method == m)
              for m in ("object.put", "queue.send", "queue.sendBatch")}
    print(f"\nSIGKILL loop (local): kills={figures['kills']} in {figures['seconds']} s, calls={ledger.requests}, "
          f"keyed calls={len(ledger.calls)} {counts}, objects compared={objects_checked}, messages={len(expected)}, "
          f"deliveries={consumer.deliveries}, duplicates={duplicate_sends + duplicate_puts}, lost={lost}")
    assert figures["kills"] >= 20
    assert not unanswered, unanswered[:5]
    assert duplicate_sends == 0 and duplicate_puts == 0, list(errors.items())[:5]
    assert not errors, list(errors.items())[:5]
    assert lost == 0, (sorted(set(expected) - set(consumer.received))[:5], consumer.resurrected[:5], objects_wrong[:5])
    assert left_in_queue == []
