"""Every method of the embedded local provider, through the socket (SPEC §4, §5)."""
import base64
import hashlib
import os
import threading
import time

from tests.conftest import Daemon


def content_id(data: bytes, chunk: int) -> str:
    digests = b"".join(hashlib.sha256(data[i:i + chunk]).digest() for i in range(0, max(len(data), 1), chunk))
    if not data:
        digests = hashlib.sha256(b"").digest()
    return hashlib.sha256(digests).hexdigest()


def test_object_round_trip_inline(conn):
    data = os.urandom(1000)
    put = conn.result("object.put", {"key": "dir/a.bin", "data": base64.b64encode(data).decode(),
                                     "contentType": "application/octet-stream", "metadata": {"team": "x"}})
    assert put["size"] == 1000 and put["parts"] == 1
    assert put["etag"] == hashlib.md5(data).hexdigest()
    assert put["contentId"] == content_id(data, 16 * 1024 * 1024)
    got = conn.result("object.get", {"key": "dir/a.bin"})
    assert base64.b64decode(got["data"]) == data
    assert got["contentId"] == put["contentId"] and got["metadata"] == {"team": "x"}
    head = conn.result("object.head", {"key": "dir/a.bin"})
    assert head["size"] == 1000 and head["contentType"] == "application/octet-stream" and "data" not in head
    rng = conn.result("object.get", {"key": "dir/a.bin", "range": {"start": 10, "end": 19}})
    assert base64.b64decode(rng["data"]) == data[10:20] and rng["size"] == 10
    assert conn.result("object.put", {"key": "dir/t.txt", "text": "héllo"})["size"] == len("héllo".encode())
    listing = conn.result("object.list", {"prefix": "dir/"})
    assert [o["key"] for o in listing["objects"]] == ["dir/a.bin", "dir/t.txt"]
    assert conn.result("object.delete", {"key": "dir/a.bin"}) == {"key": "dir/a.bin", "deleted": True}
    assert conn.error("object.head", {"key": "dir/a.bin"})["data"]["reason"] == "NotFound"
    assert conn.result("object.delete", {"key": "never-existed"})["deleted"] is True


def test_key_validation(conn):
    for key in ["", "/abs", "a/../b", "./a", "a/./b", "x\u0001y", "k" * 1025]:
        err = conn.error("object.put", {"key": key, "text": "x"})
        assert err["code"] == -32602 and "key" in err["message"], key
    assert conn.result("object.put", {"key": "é" * 512, "text": "x"})["size"] == 1  # 1024 bytes
    err = conn.error("object.put", {"key": "k", "text": "x", "data": "eA=="})
    assert err["code"] == -32602 and "exactly one" in err["message"]


def test_conditional_writes(conn):
    first = conn.result("object.put", {"key": "c", "text": "1", "ifNoneMatch": "*"})
    assert conn.error("object.put", {"key": "c", "text": "2", "ifNoneMatch": "*"})["data"]["reason"] == "PreconditionFailed"
    assert conn.error("object.put", {"key": "c", "text": "2", "ifMatch": "wrong"})["data"]["reason"] == "PreconditionFailed"
    second = conn.result("object.put", {"key": "c", "text": "2", "ifMatch": first["etag"]})
    assert second["etag"] != first["etag"]
    assert conn.error("object.get", {"key": "c", "ifMatch": first["etag"]})["data"]["reason"] == "PreconditionFailed"


def test_list_paging(conn):
    for i in range(7):
        conn.result("object.put", {"key": f"p/{i:02d}", "text": str(i)})
    seen, cursor = [], None
    while True:
        params = {"prefix": "p/", "limit": 3}
        if cursor:
            params["cursor"] = cursor
        page = conn.result("object.list", params)
        seen += [o["key"] for o in page["objects"]]
        cursor = page.get("cursor")
        if not cursor:
            break
    assert seen == [f"p/{i:02d}" for i in range(7)]


def test_path_io_and_confinement(daemon, conn):
    data = os.urandom(3 * 1024 * 1024 + 17)
    src = daemon.files / "in.bin"
    src.write_bytes(data)
    put = conn.result("object.put", {"key": "big", "path": str(src)})
    assert put["size"] == len(data) and put["contentId"] == content_id(data, 16 * 1024 * 1024)
    out = daemon.files / "sub"
    out.mkdir()
    got = conn.result("object.get", {"key": "big", "path": str(out / "out.bin")})
    assert "data" not in got and (out / "out.bin").read_bytes() == data
    assert sorted(os.listdir(out)) == ["out.bin"]  # no temp files left behind
    # Outside file_roots, directly or through a symlink: AccessDenied.
    assert conn.error("object.put", {"key": "x", "path": "/etc/hostname"})["data"]["reason"] == "AccessDenied"
    (daemon.files / "escape").symlink_to("/etc")
    err = conn.error("object.put", {"key": "x", "path": str(daemon.files / "escape" / "hostname")})
    assert err["data"]["reason"] == "AccessDenied" and "file_roots" in err["message"]
    err = conn.error("object.get", {"key": "big", "path": str(daemon.files / "escape" / "stolen")})
    assert err["data"]["reason"] == "AccessDenied"
    assert not os.path.exists("/etc/stolen")
    err = conn.error("object.get", {"key": "big", "path": str(daemon.files / ".." / "outside")})
    assert err["data"]["reason"] == "AccessDenied"


def test_reader_never_sees_partial_file(daemon, conn):
    data = os.urandom(8 * 1024 * 1024)
    (daemon.files / "src").write_bytes(data)
    conn.result("object.put", {"key": "whole", "path": str(daemon.files / "src")})
    target = daemon.files / "dst"
    target.write_bytes(b"old")
    sizes, stop = set(), threading.Event()

    def watch():
        while not stop.is_set():
            try:
                sizes.add(len(target.read_bytes()))
            except FileNotFoundError:
                sizes.add(-1)

    t = threading.Thread(target=watch)
    t.start()
    for _ in range(3):
        conn.result("object.get", {"key": "whole", "path": str(target)})
    stop.set()
    t.join()
    assert sizes <= {3, len(data)}, sizes
    assert target.read_bytes() == data


def test_progress_notifications(daemon, conn):
    data = os.urandom(5 * 1024 * 1024)
    (daemon.files / "p.bin").write_bytes(data)
    conn.request("object.put", {"key": "prog", "path": str(daemon.files / "p.bin"), "progressToken": "tok"}, id="put")
    notes = []
    while True:
        msg = conn.read()
        if msg.get("method") == "$/progress":
            notes.append(msg["params"])
            continue
        assert msg["id"] == "put" and "result" in msg
        break
    assert notes and all(n["progressToken"] == "tok" for n in notes)
    done = [n["bytesDone"] for n in notes]
    assert done == sorted(done) and done[-1] == len(data)


def test_inline_limits():
    d = Daemon(extra_server="max_request_bytes = 33554432").start()
    try:
        with d.connect() as c:
            big = base64.b64encode(b"x" * (8 * 1024 * 1024 + 1)).decode()
            err = c.error("object.put", {"key": "big", "data": big})
            assert err["data"]["reason"] == "TooLarge" and "8 MiB" in err["message"]
            exact = base64.b64encode(b"y" * (8 * 1024 * 1024)).decode()
            assert c.result("object.put", {"key": "ok", "data": exact})["size"] == 8 * 1024 * 1024
            assert len(base64.b64decode(c.result("object.get", {"key": "ok"})["data"])) == 8 * 1024 * 1024
            (d.files / "nine").write_bytes(b"z" * (9 * 1024 * 1024))
            c.result("object.put", {"key": "nine", "path": str(d.files / "nine")})
            assert c.error("object.get", {"key": "nine"})["data"]["reason"] == "TooLarge"
            # Over the queue's 1 MiB limit: only that entry of a batch fails.
            messages = [{"body": f"m{i}"} for i in range(23)]
            messages[5] = {"body": "x" * (1024 * 1024 + 1)}
            res = c.result("queue.sendBatch", {"messages": messages})["results"]
            assert len(res) == 23 and res[5]["error"]["data"]["reason"] == "TooLarge"
            assert all("messageId" in r for i, r in enumerate(res) if i != 5)
            assert c.error("queue.send", {"body": "x" * (1024 * 1024 + 1)})["data"]["reason"] == "TooLarge"
    finally:
        assert d.stop() == 0


def test_queue_basics(conn):
    sent = conn.result("queue.send", {"body": "job-1", "attributes": {"kind": "test"}})
    msgs = conn.result("queue.receive", {"max": 10, "visibilitySeconds": 30})["messages"]
    assert len(msgs) == 1
    m = msgs[0]
    assert m["messageId"] == sent["messageId"] and m["body"] == "job-1" and m["attributes"] == {"kind": "test"}
    assert m["receiveCount"] == 1 and m["sentAt"].endswith("Z")
    assert conn.result("queue.receive", {"max": 10})["messages"] == []
    conn.result("queue.ack", {"receipt": m["receipt"]})
    assert conn.error("queue.ack", {"receipt": m["receipt"]})["data"]["reason"] == "NotFound"


def test_queue_visibility_and_nack(conn):
    conn.result("queue.send", {"body": "v"})
    first = conn.result("queue.receive", {"visibilitySeconds": 1})["messages"][0]
    time.sleep(1.3)
    again = conn.result("queue.receive", {"visibilitySeconds": 30})["messages"][0]
    assert again["messageId"] == first["messageId"] and again["receiveCount"] == 2
    assert again["receipt"] != first["receipt"]
    conn.result("queue.nack", {"receipt": again["receipt"]})
    third = conn.result("queue.receive", {})["messages"][0]
    assert third["receiveCount"] == 3
    conn.result("queue.extend", {"receipt": third["receipt"], "visibilitySeconds": 0})
    assert conn.result("queue.receive", {})["messages"][0]["receiveCount"] == 4


def test_queue_batch_order(conn):
    res = conn.result("queue.sendBatch", {"messages": [{"body": f"m{i}"} for i in range(22)]})["results"]
    assert len(res) == 22 and len({r["messageId"] for r in res}) == 22
    receipts = []
    while True:
        got = conn.result("queue.receive", {"max": 10})["messages"]
        if not got:
            break
        receipts += [m["receipt"] for m in got]
    assert len(receipts) == 22
    acked = conn.result("queue.ackBatch", {"receipts": receipts + ["bogus"]})["results"]
    assert [a["receipt"] for a in acked] == receipts + ["bogus"]
    assert all("error" not in a for a in acked[:-1]) and acked[-1]["error"]["data"]["reason"] == "NotFound"


def test_long_poll_wakes_on_send(daemon, conn):
    conn.request("queue.receive", {"waitSeconds": 10}, id="poll")
    time.sleep(0.3)
    start = time.monotonic()
    with daemon.connect() as other:
        other.result("queue.send", {"body": "wake"})
    msg = conn.read(timeout=10)
    assert msg["id"] == "poll" and msg["result"]["messages"][0]["body"] == "wake"
    assert time.monotonic() - start < 9  # woken, not timed out after 10 s


def test_auto_extend_outlives_visibility_and_is_released_on_close(daemon):
    with daemon.connect() as producer:
        producer.result("queue.send", {"body": "leased"})
    holder = daemon.connect()
    msg = holder.result("queue.receive", {"visibilitySeconds": 1, "autoExtend": True})["messages"][0]
    time.sleep(2.5)  # well past the 1 s visibility timeout
    with daemon.connect() as other:
        assert other.result("queue.receive", {})["messages"] == []
        holder.close()  # closing the receiving connection releases the lease
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            got = other.result("queue.receive", {"visibilitySeconds": 30})["messages"]
            if got:
                assert got[0]["messageId"] == msg["messageId"]
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the leased message was not released")


def test_auto_extend_stops_after_ack(daemon):
    with daemon.connect() as c:
        c.result("queue.send", {"body": "done"})
        msg = c.result("queue.receive", {"visibilitySeconds": 1, "autoExtend": True})["messages"][0]
        c.result("queue.ack", {"receipt": msg["receipt"]})
        time.sleep(1.5)
        assert c.result("queue.receive", {})["messages"] == []


def test_secrets(daemon, conn):
    (daemon.local_root / "secrets.toml").write_text('"demo/token" = "s3cr3t"\n')
    got = conn.result("secret.get", {"name": "demo/token"})
    assert got["value"] == "s3cr3t" and got["versionStages"] == ["AWSCURRENT"] and got["stale"] is False
    for name in ["other", "Demo/token", " demo/token", "demo/token ", "demo", "arn:aws:secretsmanager:us-east-1:1:secret:demo/token"]:
        err = conn.error("secret.get", {"name": name})
        assert err["data"]["reason"] == "ConfigInvalid" and "secrets_allowlist" in err["message"], name
        assert "s3cr3t" not in err["message"]
    assert conn.error("secret.get", {"name": "app/db"})["data"]["reason"] == "NotFound"
    assert conn.error("secret.put", {"name": "demo/token", "value": "x"})["data"]["reason"] == "ReadOnly"
    assert "s3cr3t" not in daemon.log.read_text()


def test_compute_and_health(conn):
    hint = conn.result("compute.hint")
    assert hint["provider"] == "local" and hint["source"] == "local"
    assert hint["cpus"] >= 1 and hint["memoryBytes"] > 0
    health = conn.result("sys.health")
    assert health["status"] == "ok" and health["provider"] == "local"
    assert set(health["capabilities"]) == {"objectStore", "queue", "secrets", "compute", "rollout"}
    assert health["capabilities"]["rollout"]["ok"] is False


def test_rollouts_unsupported_on_local(conn):
    for method in ["rollout.plan", "rollout.start", "rollout.get", "rollout.wait", "rollout.list"]:
        err = conn.error(method, {})
        assert err["code"] == -32017 and err["data"]["reason"] == "Unsupported" and err["data"]["kind"] == "fatal"


def test_state_survives_restart():
    d = Daemon().start()
    with d.connect() as c:
        c.result("object.put", {"key": "persist", "text": "kept"})
        c.result("queue.send", {"body": "queued"})
    assert d.stop() == 0
    d.start()
    try:
        with d.connect() as c:
            assert base64.b64decode(c.result("object.get", {"key": "persist"})["data"]) == b"kept"
            assert c.result("queue.receive", {})["messages"][0]["body"] == "queued"
    finally:
        assert d.stop() == 0
