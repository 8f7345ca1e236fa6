"""Protocol fuzz against the real daemon: tens of thousands of lines (a seeded mix of requests,
notifications, batches, garbage and over-long lines, plus randomly mutated ones) pipelined on two
connections at once. On the clean connection every answer is accounted for: each request id is
answered exactly once, ids that must not be answered never are, and the number of id-null answers
is exactly what the lines call for, so no notification was answered. On the mutant connection
every answer is well-formed and no id is answered twice. The daemon is alive afterwards."""
import json
import random
import select
import socket
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import BIN_DIR, Daemon

REPO = Path(__file__).resolve().parents[2]
SEED = 20261206
MAX_REQUEST_BYTES = 4096
MAX_BATCH_ITEMS = 8
CLEAN_LINES = 30_000
MUTANT_LINES = 25_000
# Sending stops after this long whatever was generated, so the test stays bounded.
SEND_BUDGET_SECONDS = 35
READ_TIMEOUT_SECONDS = 30


def compact(value):
    return json.dumps(value, separators=(",", ":")).encode()


class CleanTraffic:
    """Lines whose answers are known exactly."""

    def __init__(self, rng):
        self.rng = rng
        self.next_id = 0
        self.expected = set()  # ids answered exactly once
        self.forbidden = set()  # ids inside lines that must not be answered
        self.null_answers = 0  # answers with id null the lines call for
        self.recent = []  # request ids a $/cancelRequest may name
        self.lines = []

    def new_id(self):
        self.next_id += 1
        return self.rng.choice([self.next_id, f"c-{self.next_id}", -self.next_id])

    def request(self):
        """A request object and its id (answered exactly once)."""
        id = self.new_id()
        kind = self.rng.random()
        if kind < 0.55:
            call = {"method": "sys.ping"}
        elif kind < 0.65:
            call = {"method": "sys.ping", "params": {"unexpected": 1}}  # -32602
        elif kind < 0.75:
            call = {"method": "object.head", "params": {"key": f"missing/{self.rng.randrange(1000)}"}}
        elif kind < 0.8:
            call = {"method": "queue.receive", "params": {"waitSeconds": 0, "max": 1}}
        elif kind < 0.9:
            call = {"method": f"no.such.method{self.rng.randrange(5)}"}  # -32601
        else:
            call = {"method": "sys.ping", "params": {"timeoutMs": self.rng.choice([1, 1000, "x"])}}
        return {"jsonrpc": "2.0", "id": id, **call}, id

    def notification(self):
        method = self.rng.choice(["sys.ping", "no.such.method", "object.head", "$/progress"])
        return {"jsonrpc": "2.0", "method": method, "params": {"key": "k"}}

    def add_single(self):
        kind = self.rng.random()
        if kind < 0.6:
            message, id = self.request()
            self.expected.add(id)
            self.recent = (self.recent + [id])[-50:]
        elif kind < 0.7:
            message = {"jsonrpc": "2.0", "id": None, "method": "sys.ping"}
            self.null_answers += 1
        elif kind < 0.85:
            message = self.notification()
        elif kind < 0.9 and self.recent:
            # Cancelling an earlier request: it still gets exactly one answer (result or -32800).
            message = {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": self.rng.choice(self.recent)}}
        else:
            id = self.new_id()
            self.expected.add(id)  # invalid, but its id is valid: echoed once
            message = self.rng.choice([
                {"jsonrpc": "1.0", "id": id, "method": "sys.ping"},
                {"id": id, "method": "sys.ping"},
                {"jsonrpc": "2.0", "id": id, "method": 7},
                {"jsonrpc": "2.0", "id": id},
            ])
        self.lines.append(compact(message) + self.rng.choice([b"\n", b"\r\n"]))

    def add_batch(self):
        size = self.rng.choice([0, 1, 2, 3, 5, 8, 9, 12])
        items, ids, nulls = [], [], 0
        for _ in range(size):
            kind = self.rng.random()
            if kind < 0.5:
                message, id = self.request()
                items.append(message)
                ids.append(id)
            elif kind < 0.75:
                items.append(self.notification())
            elif kind < 0.9:
                items.append(self.rng.choice([1, "x", None, [], {"jsonrpc": "2.0", "id": [1], "method": "m"}]))
                nulls += 1
            else:
                id = self.new_id()
                items.append({"jsonrpc": "2.1", "id": id, "method": "sys.ping"})
                ids.append(id)
        if size == 0 or size > MAX_BATCH_ITEMS:
            self.null_answers += 1  # [] and oversized batches: one error, id null
            self.forbidden.update(ids)
        else:
            self.expected.update(ids)
            self.null_answers += nulls
        self.lines.append(compact(items) + b"\n")

    def add_garbage(self):
        """Bytes that are not a JSON object or array: exactly one -32700 or -32600 with id null."""
        alphabet = b'abc{}[]":,0123456789 \t\r\\' + bytes(range(0x80, 0x100, 7)) + bytes([0, 1, 0x1b])
        while True:
            body = bytes(self.rng.choice(alphabet) for _ in range(self.rng.randrange(1, 60)))
            content = body[:-1] if body.endswith(b"\r") else body
            leading = content.lstrip(b" \t\r")
            if content.strip(b" \t") and leading[:1] not in (b"{", b"["):
                break
        self.null_answers += 1
        self.lines.append(body + b"\n")

    def add_oversized(self):
        message, id = self.request()
        self.forbidden.add(id)
        message["params"] = {"pad": "x" * self.rng.randrange(MAX_REQUEST_BYTES, 3 * MAX_REQUEST_BYTES)}
        self.null_answers += 1
        self.lines.append(compact(message) + b"\n")

    def generate(self, count):
        for _ in range(count):
            kind = self.rng.random()
            if kind < 0.6:
                self.add_single()
            elif kind < 0.8:
                self.add_batch()
            elif kind < 0.97:
                self.add_garbage()
            else:
                self.add_oversized()
        assert not self.expected & self.forbidden


def mutants(rng, count):
    """Valid lines, each with its own long random id, mutated at random (never a newline inside)."""
    lines = []
    for n in range(count):
        id = f"m{n}-{rng.getrandbits(48):012x}"
        source = rng.choice([
            {"jsonrpc": "2.0", "id": id, "method": "sys.ping"},
            {"jsonrpc": "2.0", "id": id, "method": "object.head", "params": {"key": "k", "timeoutMs": 500}},
            [{"jsonrpc": "2.0", "id": id, "method": "sys.ping"}, {"jsonrpc": "2.0", "method": "sys.ping"}],
            {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": id}},
        ])
        data = bytearray(compact(source))
        for _ in range(rng.randrange(1, 6)):
            where = rng.randrange(len(data) + 1)
            action = rng.random()
            if action < 0.3 and data:
                data[min(where, len(data) - 1)] = rng.randrange(256)
            elif action < 0.5:
                data[where:where] = bytes([rng.randrange(256)])
            elif action < 0.7:
                del data[where:where + rng.randrange(1, 8)]
            elif action < 0.85:
                data[where:where] = rng.choice([b"{", b"}", b"[", b"]", b",", b'"', b"\\", b'"id":', b"\r", b"\x00"])
            else:
                data[where:where] = data[:rng.randrange(len(data) + 1)]
        lines.append(bytes(data).replace(b"\n", b" ") + b"\n")
    return lines


class Exchange:
    """Pipelines `lines` on one connection while a reader thread collects every response."""

    def __init__(self, path, lines):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.lines = lines
        self.responses = []
        self.sent = 0
        self.error = None
        self._stop = threading.Event()

    def write(self, deadline):
        batch = []
        for line in self.lines:
            batch.append(line)
            if len(batch) == 256:
                self.sock.sendall(b"".join(batch))
                self.sent += len(batch)
                batch = []
                if time.monotonic() > deadline:
                    return
        self.sock.sendall(b"".join(batch))
        self.sent += len(batch)

    def read(self):
        buffer = b""
        while not self._stop.is_set():
            # select, not a socket timeout: a timeout would also apply to the writer's sendall.
            if not select.select([self.sock], [], [], 0.5)[0]:
                continue
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError as error:
                self.error = error
                return
            if not chunk:
                self.error = EOFError("the daemon closed the connection")
                return
            buffer += chunk
            *complete, buffer = buffer.split(b"\n")
            for line in complete:
                message = json.loads(line)
                self.responses.extend(message if isinstance(message, list) else [message])

    def stop(self):
        self._stop.set()


def check_response(response):
    assert response.get("jsonrpc") == "2.0", response
    assert ("result" in response) != ("error" in response), response
    assert set(response) <= {"jsonrpc", "id", "result", "error"} and "id" in response, response
    if "error" in response:
        assert isinstance(response["error"]["code"], int), response
        assert response["error"]["data"]["kind"] in ("recoverable", "fatal"), response


def wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def fuzz_daemon():
    d = Daemon(extra_server=f"max_request_bytes = {MAX_REQUEST_BYTES}\nmax_batch_items = {MAX_BATCH_ITEMS}")
    d.start()
    yield d
    code = d.stop()
    assert code == 0, f"rolloutd exited {code}: {d.log.read_text()[-3000:]}"


def test_mutated_lines_get_exactly_the_answers_they_are_owed(fuzz_daemon):
    rng = random.Random(SEED)
    clean = CleanTraffic(rng)
    clean.generate(CLEAN_LINES)
    clean_exchange = Exchange(str(fuzz_daemon.socket), clean.lines)
    mutant_exchange = Exchange(str(fuzz_daemon.socket), mutants(rng, MUTANT_LINES))
    exchanges = [clean_exchange, mutant_exchange]
    readers = [threading.Thread(target=e.read) for e in exchanges]
    for reader in readers:
        reader.start()
    try:
        deadline = time.monotonic() + SEND_BUDGET_SECONDS
        writers = [threading.Thread(target=e.write, args=(deadline,)) for e in exchanges]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        assert clean_exchange.sent == len(clean.lines), "the clean lines did not all go out within the budget"

        expected_total = len(clean.expected) + clean.null_answers
        wait_for(lambda: len(clean_exchange.responses) >= expected_total or clean_exchange.error, READ_TIMEOUT_SECONDS)
        # A last request on each connection: once it is answered, nothing owed is still on its way.
        for n, exchange in enumerate(exchanges):
            exchange.sock.sendall(compact({"jsonrpc": "2.0", "id": f"sentinel-{n}", "method": "sys.ping"}) + b"\n")
        assert wait_for(
            lambda: all(any(r.get("id") == f"sentinel-{n}" for r in e.responses) for n, e in enumerate(exchanges)),
            READ_TIMEOUT_SECONDS,
        ), f"sentinels not answered; errors: {[e.error for e in exchanges]}"
        time.sleep(0.2)
    finally:
        for exchange in exchanges:
            exchange.stop()
        for reader in readers:
            reader.join()
        for exchange in exchanges:
            exchange.sock.close()

    assert clean_exchange.error is None and mutant_exchange.error is None, "a connection was closed"
    answers = [r for r in clean_exchange.responses if r["id"] != "sentinel-0"]
    for response in answers:
        check_response(response)
    counts = Counter(json.dumps(r["id"]) for r in answers if r["id"] is not None)
    answered_twice = [id for id, count in counts.items() if count > 1]
    assert not answered_twice, f"answered more than once: {answered_twice[:10]}"
    answered = {json.loads(id) for id in counts}
    assert answered - clean.expected == set(), f"unexpected ids answered: {list(answered - clean.expected)[:10]}"
    assert clean.expected - answered == set(), f"requests never answered: {list(clean.expected - answered)[:10]}"
    assert not answered & clean.forbidden
    nulls = sum(1 for r in answers if r["id"] is None)
    assert nulls == clean.null_answers, f"{nulls} answers with id null, expected {clean.null_answers}"

    mutant_answers = [r for r in mutant_exchange.responses if r["id"] != "sentinel-1"]
    for response in mutant_answers:
        check_response(response)
    mutant_counts = Counter(json.dumps(r["id"]) for r in mutant_answers if r["id"] is not None)
    assert not [id for id, count in mutant_counts.items() if count > 1]

    with fuzz_daemon.connect() as c:
        assert c.result("sys.ping") == {}
    print(
        f"\nprotocol fuzz: {len(clean.lines)} clean lines ({len(clean.expected)} requests answered once, "
        f"{clean.null_answers} id-null answers), {mutant_exchange.sent} mutated lines ({len(mutant_answers)} answers)"
    )


def test_fuzz_corpus_replays_cleanly():
    """The committed libFuzzer seeds (and any crash input added to them) keep every invariant."""
    run = subprocess.run(
        [str(BIN_DIR / "rollout-fuzz"), str(REPO / "Fuzz" / "corpus")], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "every invariant holds" in run.stdout
