"""A SIGKILL loop for SPEC §3.2 ("a retry after the daemon was killed at any instant still
produces at most one side effect"): workers pipeline keyed calls on their own connections, the
daemon is SIGKILLed at a random moment (seeded), the state database is checked with
`PRAGMA integrity_check`, the daemon restarts, and every key of the round is retried.

The ledger keeps, per keyed call, its params and the result the daemon acknowledged, so the
tests can prove afterwards that no keyed effect happened twice and no acknowledged one was lost.
"""
import base64
import random
import signal
import sqlite3
import threading
import time
from dataclasses import dataclass, field

SEED = 20251110


@dataclass
class Call:
    """One keyed call: what was asked and every answer it got."""
    method: str
    params: dict
    acked: dict | None = None        # the first successful result (without "replayed")
    errors: list = field(default_factory=list)
    answers: int = 0


class Ledger:
    """Every keyed call of the run, shared by the worker threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls = {}      # idempotencyKey -> Call
        self.order = []      # keys in issue order
        self.requests = 0    # RPC requests sent, retries included
        self.counter = 0

    def new(self, method, params):
        with self.lock:
            self.counter += 1
            key = f"{method}-{self.counter}"
            params = {**params(self.counter), "idempotencyKey": key}
            call = Call(method, params)
            self.calls[key] = call
            self.order.append(key)
            return call

    def sent(self, n=1):
        with self.lock:
            self.requests += n

    def answer(self, call, msg):
        """Records one response; returns the result (or None for an error)."""
        with self.lock:
            call.answers += 1
            if "error" in msg:
                call.errors.append(msg["error"])
                return None
            result = {k: v for k, v in msg["result"].items() if k != "replayed"}
            if call.acked is None:
                call.acked = result
            elif call.acked != result:
                call.errors.append({"message": "answer differs from the acknowledged one", "first": call.acked,
                                    "now": result})
            return msg["result"]


def pipeline(daemon, ledger, make_call, stop, window=4):
    """A worker: keeps `window` keyed calls in flight on one connection until the connection
    dies (the daemon was killed) or `stop` is set."""
    try:
        conn = daemon.connect()
    except OSError:
        return
    pending = {}
    try:
        while not stop.is_set() or pending:
            while not stop.is_set() and len(pending) < window:
                call = make_call()
                pending[conn.request(call.method, call.params)] = call
                ledger.sent()
            msg = conn.read(timeout=30)
            call = pending.pop(msg.get("id"), None)
            if call is not None:
                ledger.answer(call, msg)
    except (OSError, EOFError, ValueError):
        pass  # killed: whatever is pending is unknown until retried
    finally:
        conn.close()


def retry_all(daemon, ledger, keys, window=16):
    """Retries `keys` (pipelined) on a fresh connection; every retry must succeed."""
    with daemon.connect() as conn:
        todo = list(keys)
        pending = {}
        while todo or pending:
            while todo and len(pending) < window:
                call = ledger.calls[todo.pop()]
                pending[conn.request(call.method, call.params)] = call
                ledger.sent()
            msg = conn.read(timeout=60)
            call = pending.pop(msg.get("id"), None)
            if call is not None:
                ledger.answer(call, msg)


def integrity_check(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        db.close()


def crash_loop(daemon, ledger, workers, rng, kills, state_db, max_seconds, pause=(0.05, 0.8)):
    """Starts the daemon, then `kills` times: run `workers` (callables taking a stop Event) for a
    random time, SIGKILL, check the database, restart, retry the round's keys. Returns figures."""
    daemon.start()
    done_kills = 0
    started = time.monotonic()
    while done_kills < kills and time.monotonic() - started < max_seconds:
        first_key = len(ledger.order)
        stop = threading.Event()
        threads = [threading.Thread(target=w, args=(stop,), daemon=True) for w in workers]
        for t in threads:
            t.start()
        time.sleep(rng.uniform(*pause))
        daemon.proc.send_signal(signal.SIGKILL)
        daemon.proc.wait(timeout=30)
        done_kills += 1
        stop.set()
        for t in threads:
            t.join(timeout=60)
            assert not t.is_alive(), "a worker hung after the kill"
        check = integrity_check(state_db)
        assert check == "ok", f"integrity_check after kill {done_kills}: {check}"
        daemon.start()
        retry_all(daemon, ledger, ledger.order[first_key:])
    return {"kills": done_kills, "seconds": round(time.monotonic() - started, 1)}


def random_bytes(rng, low, high):
    return rng.randbytes(rng.randint(low, high))


def b64(data):
    return base64.b64encode(data).decode()


def seeded(*parts):
    return random.Random("-".join(str(p) for p in (SEED,) + parts))
