"""SPEC §3.2 idempotency through the socket, including concurrency and restarts."""
import threading

from tests.conftest import Daemon


def drain_queue(conn):
    bodies = []
    while True:
        msgs = conn.result("queue.receive", {"max": 10, "waitSeconds": 0})["messages"]
        if not msgs:
            return bodies
        for m in msgs:
            bodies.append(m["body"])
            conn.result("queue.ack", {"receipt": m["receipt"]})


def test_replay_and_conflict(conn):
    first = conn.result("queue.send", {"body": "hello", "idempotencyKey": "k1"})
    assert "replayed" not in first
    second = conn.result("queue.send", {"body": "hello", "idempotencyKey": "k1"})
    assert second == {**first, "replayed": True}
    err = conn.error("queue.send", {"body": "other", "idempotencyKey": "k1"})
    assert err["code"] == -32014 and err["data"]["reason"] == "Conflict"
    # progressToken and timeoutMs are not part of the fingerprint.
    third = conn.result("queue.send", {"body": "hello", "idempotencyKey": "k1", "timeoutMs": 5000})
    assert third["messageId"] == first["messageId"]
    # The same key on another method is a different record.
    put = conn.result("object.put", {"key": "a", "text": "x", "idempotencyKey": "k1"})
    assert "replayed" not in put
    assert drain_queue(conn) == ["hello"]


def test_concurrent_calls_with_one_key_have_one_effect(daemon):
    results, errors = [], []

    def worker():
        try:
            with daemon.connect() as c:
                results.append(c.result("queue.send", {"body": "once", "idempotencyKey": "same"}))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len({r["messageId"] for r in results}) == 1
    assert sum(1 for r in results if not r.get("replayed")) == 1
    with daemon.connect() as c:
        assert drain_queue(c) == ["once"]


def test_fatal_errors_are_recorded(conn):
    conn.result("object.put", {"key": "k", "text": "a"})
    params = {"key": "k", "text": "b", "ifNoneMatch": "*", "idempotencyKey": "fatal"}
    assert conn.error("object.put", params)["data"]["reason"] == "PreconditionFailed"
    conn.result("object.delete", {"key": "k"})
    # Run again, the put would now succeed; the recorded fatal outcome is replayed instead.
    assert conn.error("object.put", params)["data"]["reason"] == "PreconditionFailed"
    assert conn.error("object.head", {"key": "k"})["data"]["reason"] == "NotFound"


def test_replay_survives_restart():
    d = Daemon().start()
    with d.connect() as c:
        first = c.result("queue.send", {"body": "durable", "idempotencyKey": "restart"})
    assert d.stop() == 0
    d.start()
    try:
        with d.connect() as c:
            again = c.result("queue.send", {"body": "durable", "idempotencyKey": "restart"})
            assert again == {**first, "replayed": True}
            assert drain_queue(c) == ["durable"]
    finally:
        assert d.stop() == 0
