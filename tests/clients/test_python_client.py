"""The Python client library (clients/python/rolloutd) against a real daemon on provider `local`.

A wire tap (tests/clients/support.py) sits between client and daemon where a test needs to see
what really crossed the socket: the $/cancelRequest a cancelled asyncio call sends, the order
in which answers came back, how many connections a shared client used.
"""
import asyncio
import json
import os
import string
import threading
import time

import pytest

from .support import Tap, wait_until  # also puts clients/python on sys.path

import rolloutd  # noqa: E402
from rolloutd import AsyncClient, Client  # noqa: E402


def run(coro, timeout=60):
    """asyncio.run with an overall limit, so a broken client fails the test instead of hanging it."""
    async def bounded():
        return await asyncio.wait_for(coro, timeout)
    return asyncio.run(bounded())


@pytest.fixture
def tap(daemon):
    t = Tap(daemon.socket, daemon.root / "run" / "tap.sock")
    yield t
    t.close()


@pytest.fixture
def client(daemon):
    with Client(str(daemon.socket)) as c:
        yield c


def drain(client):
    bodies = []
    while True:
        messages = client.queue_receive(10, wait_seconds=0)["messages"]
        if not messages:
            return bodies
        for m in messages:
            bodies.append(m["body"])
            client.queue_ack(m["receipt"])


# --- basics ------------------------------------------------------------------------------

def test_ping_health_and_socket_path_default(daemon, client, monkeypatch, tmp_path):
    assert client.ping() == {}
    health = client.health()
    assert health["provider"] == "local" and health["status"] in ("ok", "degraded")
    monkeypatch.setenv("ROLLOUT_SOCKET", str(daemon.socket))
    with Client() as from_env:
        assert from_env.socket_path == str(daemon.socket) and from_env.ping() == {}
    monkeypatch.delenv("ROLLOUT_SOCKET")
    assert Client().socket_path == ".rollout/rollout.sock"
    monkeypatch.chdir(tmp_path)  # nothing listens there: a typed, recoverable connection error
    with pytest.raises(rolloutd.ConnectionFailed) as info:
        Client().ping()
    assert info.value.kind == "recoverable" and info.value.sent is False
    assert isinstance(info.value, rolloutd.RolloutError)


def test_object_round_trip_and_upload_file_with_progress(daemon, client):
    put = client.object_put("dir/a.bin", b"\x00\x01binary\xff")
    assert put["size"] == 9 and put["key"] == "dir/a.bin"
    assert client.object_get_bytes("dir/a.bin") == b"\x00\x01binary\xff"
    client.object_put("dir/b.txt", text="héllo", content_type="text/plain", metadata={"team": "ml"})
    got = client.object_get("dir/b.txt")
    assert got["contentType"] == "text/plain" and got["metadata"] == {"team": "ml"}
    assert client.object_get_bytes("dir/b.txt") == "héllo".encode()
    assert client.object_get_bytes("dir/b.txt", range=(1, 2)) == "héllo".encode()[1:3]

    data = os.urandom(5 * 1024 * 1024 + 123)
    source = daemon.files / "snapshot.bin"
    source.write_bytes(data)
    events = []
    uploaded = client.upload_file("snapshots/one", source, progress=events.append, content_type="application/x-tar")
    assert uploaded["size"] == len(data)
    assert events, "the progress callback was never called"
    tokens = {e["progressToken"] for e in events}
    assert len(tokens) == 1 and next(iter(tokens)).startswith("py-")
    done = [e["bytesDone"] for e in events]
    assert done == sorted(done) and done[-1] == len(data)
    assert client.object_head("snapshots/one")["contentId"] == uploaded["contentId"]

    target = daemon.files / "copy.bin"
    downloads = []
    client.download_file("snapshots/one", target, progress=downloads.append)
    assert target.read_bytes() == data and downloads and downloads[-1]["bytesDone"] == len(data)

    keys = [o["key"] for o in client.iter_objects("dir/", page_size=1)]
    assert keys == ["dir/a.bin", "dir/b.txt"]
    assert client.object_delete("dir/a.bin") == {"key": "dir/a.bin", "deleted": True}
    with pytest.raises(rolloutd.NotFound) as info:
        client.object_head("dir/a.bin")
    assert info.value.code == -32011 and info.value.kind == "fatal" and info.value.reason == "NotFound"


def test_upload_outside_file_roots_is_access_denied(daemon, client, tmp_path):
    outside = tmp_path / "secret.bin"
    outside.write_bytes(b"x")
    with pytest.raises(rolloutd.AccessDenied) as info:
        client.upload_file("x", outside)
    assert info.value.code == -32012 and info.value.kind == "fatal"


def test_queue_send_receive_ack(client):
    sent = client.queue_send("job-1", attributes={"kind": "test"})
    batch = client.queue_send_batch(["job-2", {"body": "job-3", "attributes": {"n": "3"}}])
    assert [bool(r.get("messageId")) for r in batch["results"]] == [True, True]
    got = client.queue_receive(10, wait_seconds=1)["messages"]
    by_body = {m["body"]: m for m in got}
    assert set(by_body) == {"job-1", "job-2", "job-3"}
    assert by_body["job-1"]["messageId"] == sent["messageId"] and by_body["job-1"]["attributes"] == {"kind": "test"}
    client.queue_ack(by_body["job-1"]["receipt"])
    acked = client.queue_ack_batch([by_body["job-2"]["receipt"], by_body["job-3"]["receipt"]])
    assert all("error" not in r for r in acked["results"])
    assert client.queue_receive(10, wait_seconds=0)["messages"] == []


def test_receive_with_auto_extend_nacks_on_exception_and_acks_on_success(client):
    client.queue_send("fragile")
    with pytest.raises(RuntimeError, match="worker crashed"):
        with client.receive_with_auto_extend(max=1, wait_seconds=2) as lease:
            assert [m["body"] for m in lease] == ["fragile"]
            raise RuntimeError("worker crashed")
    # Nacked: visible again right away (without the nack, autoExtend would keep it hidden for as
    # long as this connection lives).
    with client.receive_with_auto_extend(max=1, wait_seconds=5) as lease:
        assert [(m["body"], m["receiveCount"]) for m in lease] == [("fragile", 2)]
    assert client.queue_receive(10, wait_seconds=0)["messages"] == []  # acked: gone for good
    with client.receive_with_auto_extend(max=1, wait_seconds=0) as lease:
        assert len(lease) == 0


def test_auto_extend_lease_async(daemon):
    async def main():
        async with AsyncClient(str(daemon.socket)) as a:
            await a.queue_send("async-job")
            with pytest.raises(ValueError):
                async with a.receive_with_auto_extend(wait_seconds=2) as lease:
                    assert [m["body"] for m in lease] == ["async-job"]
                    raise ValueError("boom")
            async with a.receive_with_auto_extend(wait_seconds=5) as lease:
                assert [m["receiveCount"] for m in lease] == [2]
            assert (await a.queue_receive(wait_seconds=0))["messages"] == []
    run(main())


# --- errors --------------------------------------------------------------------------------

def test_typed_errors(client):
    with pytest.raises(rolloutd.ConfigInvalid) as info:
        client.secret_get("not/allowed")
    err = info.value
    assert isinstance(err, rolloutd.RolloutError)
    assert (err.code, err.kind, err.reason) == (-32010, "fatal", "ConfigInvalid")
    assert "secrets_allowlist" in err.message and err.method == "secret.get"
    assert err.recoverable is False and err.retry_after_ms is None and err.upstream is None

    with pytest.raises(rolloutd.Unsupported) as info:
        client.rollout_start("fn", "live", rolloutd.canary(10, 60), target_version="2")
    assert info.value.code == -32017 and info.value.kind == "fatal" and info.value.reason == "Unsupported"
    with pytest.raises(rolloutd.Unsupported):
        client.rollout_list()

    with pytest.raises(rolloutd.InvalidParams) as info:
        client.object_head("/absolute")
    assert info.value.code == -32602
    with pytest.raises(rolloutd.MethodNotFound):
        client.call("no.such.method")
    with pytest.raises(rolloutd.DeadlineExceeded) as info:
        client.queue_receive(wait_seconds=10, timeout_ms=300)
    assert info.value.recoverable and info.value.local is False
    with pytest.raises(rolloutd.ReadOnly):
        client.call("secret.put", {"name": "demo/token", "value": "x"})
    assert client.ping() == {}  # the connection survived all of it


def test_error_mapping_without_a_daemon():
    throttled = rolloutd.error_from_response({"code": -32001, "message": "slow down", "data": {
        "kind": "recoverable", "reason": "Throttled", "retryAfterMs": 1500,
        "upstream": {"service": "s3", "code": "SlowDown", "httpStatus": 503, "requestId": "r1"}}}, "object.put")
    assert isinstance(throttled, rolloutd.Throttled)
    assert throttled.retry_after_ms == 1500 and throttled.upstream["code"] == "SlowDown" and throttled.recoverable
    # An over-long line is -32600 with reason TooLarge: the reason decides.
    assert type(rolloutd.error_from_response({"code": -32600, "message": "x", "data": {"reason": "TooLarge"}})) \
        is rolloutd.TooLarge
    unknown = rolloutd.error_from_response({"code": -32099, "message": "new"})
    assert type(unknown) is rolloutd.RolloutError and unknown.code == -32099 and unknown.kind is None
    by_code = rolloutd.error_from_response({"code": -32014, "message": "x", "data": {"activeDeploymentId": "d-1"}})
    assert isinstance(by_code, rolloutd.Conflict) and by_code.reason == "Conflict" and by_code.kind == "fatal"
    assert by_code.active_deployment_id == "d-1"


def test_oversized_request_is_typed_too_large_and_the_connection_lives(client):
    # The daemon answers an over-long line with id null: the client gives it to the right call.
    with pytest.raises(rolloutd.TooLarge) as info:
        client.object_put("big", b"x" * (1 << 20), timeout_ms=5000)  # never hangs: the client gives up after 10 s
    assert info.value.code == -32600
    assert client.ping() == {}


# --- idempotency ---------------------------------------------------------------------------

def test_idempotency_keys_and_replay(client):
    key = rolloutd.idempotency_key_for("nightly", "send", {"date": "2026-01-01", "n": 1})
    assert key == rolloutd.idempotency_key_for("nightly", "send", {"n": 1, "date": "2026-01-01"})
    assert key != rolloutd.idempotency_key_for("nightly", "send", {"date": "2026-01-02", "n": 1})
    assert 1 <= len(key) <= 255 and set(key) <= set(string.printable) - set(string.whitespace)
    fresh = {rolloutd.new_idempotency_key() for _ in range(100)}
    assert len(fresh) == 100

    first = client.queue_send("once", idempotency_key=key)
    again = client.queue_send("once", idempotency_key=key)
    assert "replayed" not in first and again == {**first, "replayed": True}
    with pytest.raises(rolloutd.Conflict):
        client.queue_send("different", idempotency_key=key)
    put_key = rolloutd.new_idempotency_key("put")
    assert "replayed" not in client.object_put("idem", text="v", idempotency_key=put_key)
    assert client.object_put("idem", text="v", idempotency_key=put_key)["replayed"] is True
    assert drain(client) == ["once"]


# --- concurrency ---------------------------------------------------------------------------

def test_async_concurrent_calls_answered_out_of_order(daemon, tap):
    with Client(str(daemon.socket)) as setup:
        for i in range(50):
            setup.object_put(f"many/{i:02d}", text=f"value-{i}")

    async def main():
        async with AsyncClient(tap.path) as a:
            long_poll = asyncio.ensure_future(a.queue_receive(wait_seconds=10))
            while a.inflight == 0:
                await asyncio.sleep(0.01)
            heads, pings = await asyncio.gather(
                asyncio.gather(*[a.object_head(f"many/{i:02d}") for i in range(50)]),
                asyncio.gather(*[a.ping() for _ in range(50)]))
            assert not long_poll.done()  # the pings did not wait behind the long poll
            await a.queue_send("wake-up")
            received = await long_poll
            return heads, pings, received

    heads, pings, received = run(main())
    assert [h["key"] for h in heads] == [f"many/{i:02d}" for i in range(50)]
    assert [h["size"] for h in heads] == [len(f"value-{i}") for i in range(50)]
    assert pings == [{}] * 50
    assert [m["body"] for m in received["messages"]] == ["wake-up"]
    assert tap.connections == 1
    requested = [m["id"] for m in tap.sent() if "id" in m]
    answered = tap.response_order()
    assert sorted(answered) == sorted(requested) and answered != requested  # out of order on the wire
    poll_id, gathered = requested[0], requested[1:101]  # the long poll went first...
    assert answered.index(poll_id) > max(answered.index(i) for i in gathered)  # ...and came back after them


def test_async_cancellation_sends_cancel_request(daemon, tap):
    async def main():
        async with AsyncClient(tap.path) as a:
            task = asyncio.ensure_future(a.queue_receive(wait_seconds=20))
            while a.inflight == 0:
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # the daemon is long-polling now
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            assert a.inflight == 0
            receive_id = next(m["id"] for m in tap.sent("queue.receive"))
            # The daemon answers the cancelled request with -32800, which the client drops.
            await asyncio.get_running_loop().run_in_executor(None, lambda: wait_until(
                lambda: any(m.get("id") == receive_id for m in tap.received()), timeout=10))
            # Nothing leaks: no orphaned long poll swallows the next message.
            with Client(str(daemon.socket)) as other:
                other.queue_send("after-cancel")
            again = await a.queue_receive(wait_seconds=5)
            assert [m["body"] for m in again["messages"]] == ["after-cancel"]
            await a.queue_ack(again["messages"][0]["receipt"])
            assert await a.ping() == {}
            return receive_id

    receive_id = run(main())
    cancels = tap.sent("$/cancelRequest")
    assert [c["params"] for c in cancels] == [{"id": receive_id}] and "id" not in cancels[0]
    answer = next(m for m in tap.received() if m.get("id") == receive_id)
    assert answer["error"]["code"] == -32800 and answer["error"]["data"]["reason"] == "RequestCancelled"
    assert wait_until(lambda: any(
        (line := json.loads(raw)).get("outcome") == "RequestCancelled" and line.get("rpc.id") == str(receive_id)
        for raw in daemon.log.read_text().splitlines() if raw.startswith("{")), timeout=5)


def test_async_wait_for_timeout_also_cancels(daemon, tap):
    async def main():
        async with AsyncClient(tap.path) as a:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(a.queue_receive(wait_seconds=20), 0.5)
            assert a.inflight == 0
            assert await a.ping() == {}
    run(main())
    receive_id = next(m["id"] for m in tap.sent("queue.receive"))
    assert [c["params"]["id"] for c in tap.sent("$/cancelRequest")] == [receive_id]
    assert wait_until(lambda: any(m.get("id") == receive_id and m["error"]["code"] == -32800
                                  for m in tap.received()), timeout=10)


def test_blocking_client_shared_by_threads(daemon, tap):
    errors, results = [], {}
    with Client(tap.path) as shared:
        def long_poll():
            try:
                results["poll"] = shared.queue_receive(wait_seconds=2)
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        def worker(n):
            try:
                for j in range(20):
                    key = f"t{n}/{j}"
                    shared.object_put(key, text=f"{n}:{j}")
                    assert shared.object_get_bytes(key) == f"{n}:{j}".encode()
                    results[key] = shared.ping()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        poller = threading.Thread(target=long_poll)
        poller.start()
        assert wait_until(lambda: shared.inflight >= 1)
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        poller.join(timeout=30)
        assert shared.inflight == 0
    assert not errors, errors
    assert results["poll"] == {"messages": []}
    assert sum(1 for k in results if k.startswith("t")) == 160
    assert tap.connections == 1
    # The long poll's answer came after answers to calls sent later: nobody queued behind it.
    poll_id = next(m["id"] for m in tap.sent("queue.receive"))
    order = tap.response_order()
    assert order.index(poll_id) > 0 and len(order) == 1 + 8 * 20 * 3


def test_progress_callbacks_run_on_the_calling_thread(daemon, client):
    (daemon.files / "p.bin").write_bytes(os.urandom(3 * 1024 * 1024))
    threads = set()
    client.upload_file("p", daemon.files / "p.bin", progress=lambda p: threads.add(threading.get_ident()))
    assert threads == {threading.get_ident()}

    class Stop(Exception):
        pass

    def refuse(_):
        raise Stop()

    with pytest.raises(Stop):  # a callback that raises cancels the call
        client.upload_file("q", daemon.files / "p.bin", progress=refuse)
    assert client.inflight == 0 and client.ping() == {}


def test_reconnects_after_a_broken_connection(daemon, tap):
    with Client(tap.path) as c:
        assert c.ping() == {}
        result = {}

        def poll():
            try:
                c.queue_receive(wait_seconds=10)
            except rolloutd.ConnectionFailed as e:
                result["error"] = e

        t = threading.Thread(target=poll)
        t.start()
        assert wait_until(lambda: len(tap.sent("queue.receive")) == 1)  # on the wire, not only registered
        tap.drop()
        t.join(timeout=10)
        assert isinstance(result.get("error"), rolloutd.ConnectionFailed) and result["error"].sent is True
        assert result["error"].recoverable
        assert c.ping() == {}  # a new connection
    assert tap.connections == 2

    async def main():
        async with AsyncClient(tap.path) as a:
            assert await a.ping() == {}
            poll = asyncio.ensure_future(a.queue_receive(wait_seconds=10))
            while len(tap.sent("queue.receive")) < 2:
                await asyncio.sleep(0.01)
            tap.drop()
            with pytest.raises(rolloutd.ConnectionFailed):
                await poll
            assert await a.ping() == {}
    run(main())
    assert tap.connections == 4


def test_reconnects_after_a_daemon_restart(daemon):
    async def ping(a):
        return await a.ping()

    a = AsyncClient(str(daemon.socket))
    with Client(str(daemon.socket)) as c:
        assert c.ping() == {}
        assert run(ping(a)) == {}
        assert daemon.stop() == 0
        daemon.start()
        assert c.ping() == {}
        assert c.health()["provider"] == "local"
        assert run(ping(a)) == {}


def test_async_client_reused_across_event_loops(daemon):
    a = AsyncClient(str(daemon.socket))

    async def work(n):
        await a.queue_send(f"loop-{n}")
        return await a.ping()

    assert [run(work(n)) for n in range(3)] == [{}, {}, {}]

    async def finish():
        got = await a.queue_receive(10, wait_seconds=1)
        await a.aclose()
        return sorted(m["body"] for m in got["messages"])

    assert run(finish()) == ["loop-0", "loop-1", "loop-2"]
