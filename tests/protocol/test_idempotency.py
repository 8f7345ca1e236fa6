"""SPEC §3.2 idempotency through the socket, including concurrency and restarts."""
import base64
import json
import sqlite3
import threading
import time

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


def test_follower_gets_the_result_when_the_leader_disconnects(daemon):
    """SPEC §3.2: a caller waiting on another connection's execution of its key is not
    cancelled when that connection closes; the execution goes on and the waiter gets its result."""
    big = daemon.files / "big.bin"
    size = 300 << 20
    with open(big, "wb") as f:
        f.truncate(size)  # sparse: quick to make, still 300 MiB to read, hash and write
    params = {"key": "big", "path": str(big), "idempotencyKey": "shared-put"}
    leader = daemon.connect()
    try:
        leader.request("object.put", {**params, "progressToken": "p"})
        # The first progress notification: the put is under way.
        first = leader.read(timeout=30)
        assert first.get("method") == "$/progress", first
        with daemon.connect() as follower:
            follower_id = follower.request("object.put", params)
            time.sleep(0.5)  # the follower has joined the flight
            leader.close()
            leader = None
            while True:
                msg = follower.read(timeout=60)
                if msg.get("id") == follower_id:
                    break
            assert "error" not in msg, msg
            assert msg["result"]["size"] == size and msg["result"]["replayed"] is True
            head = follower.result("object.head", {"key": "big"})
            assert head["size"] == size and head["etag"] == msg["result"]["etag"]
            # Nothing runs twice: the same key replays the same result.
            again = follower.result("object.put", params)
            assert again == msg["result"]
            follower.result("object.delete", {"key": "big"})
    finally:
        if leader is not None:
            leader.close()
        big.unlink()


def test_the_record_a_local_effect_commits_is_the_answer_per_method():
    """The local provider writes each keyed call's record inside the effect's transaction; the
    JSON it records must be exactly what the handler answers (the replay returns the record)."""
    d = Daemon(extra_server="max_request_bytes = 4194304").start()
    calls = [
        ("object.put", {"key": "p", "data": base64.b64encode(b"\x00\x01binary").decode()}),
        ("object.put", {"key": "t", "text": "hi", "contentType": "text/plain", "metadata": {"a": "b"}}),
        ("object.delete", {"key": "p"}),
        ("object.delete", {"key": "absent"}),
        ("queue.send", {"body": "one", "attributes": {"k": "v"}, "deduplicationId": "d1"}),
        ("queue.sendBatch", {"messages": [{"body": "a"}, {"body": "x" * ((1 << 20) + 1)}, {"body": "c", "groupId": "g"}]}),
    ]
    try:
        with d.connect() as c:
            for index, (method, params) in enumerate(calls):
                keyed = {**params, "idempotencyKey": f"eq-{index}"}
                first = c.result(method, keyed)
                assert c.result(method, keyed) == {**first, "replayed": True}, method
                db = sqlite3.connect(f"file:{d.root / 'state' / 'state.sqlite'}?mode=ro", uri=True)
                try:
                    (outcome,) = db.execute("SELECT outcome FROM idempotency WHERE method = ? AND key = ?",
                                            (method, f"eq-{index}")).fetchone()
                finally:
                    db.close()
                assert json.loads(outcome) == {"result": first}, method
            assert first["results"][1]["error"]["data"]["reason"] == "TooLarge"
    finally:
        assert d.stop() == 0
