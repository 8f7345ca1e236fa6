"""SPEC §3.2 on provider `aws` (moto): the record is written "started" before the first AWS
call, and a retry that finds a started record left by a killed daemon resolves it from the
service: object.put by content id and size, queue.send to a FIFO queue by a deduplication id
derived from the key, rollout.start by the deployment id (native) or description marker
(CodeDeploy) derived from the key. A standard queue cannot deduplicate: its messages carry the
key in the attribute `rolloutd-idempotency-key`."""
import hashlib
import signal
import sqlite3
import uuid

import pytest

from tests.crash_loop import Ledger, b64, crash_loop, integrity_check, pipeline, random_bytes, retry_all, seeded

from .test_aws_provider import AWSDaemon, aws_env
from .test_rollouts import RolloutDaemon, lam, moto_post, start_params  # noqa: F401 - fixtures used by name
from .test_rollouts_codedeploy import CodeDeployDaemon, group, params as codedeploy_params  # noqa: F401

KILLS = 8


def queue_daemon(moto, bucket, queue_url, cls=AWSDaemon, *args):
    d = cls(aws_env(moto), *args)
    d.config.write_text(d.config.read_text().replace(
        "[cloud.aws.secrets]",
        f'[cloud.aws.s3]\nbucket = "{bucket}"\nforce_path_style = true\n'
        f'[cloud.aws.sqs]\nqueue_url = "{queue_url}"\n[cloud.aws.secrets]'))
    return d


def kill(d):
    d.proc.send_signal(signal.SIGKILL)
    d.proc.wait(timeout=30)


def forget_outcome(d, method, key):
    """Turns a finished record back into a started one: what a daemon killed between the AWS
    call and recording its outcome leaves behind."""
    db = sqlite3.connect(d.root / "state" / "state.sqlite")
    try:
        with db:
            changed = db.execute("UPDATE idempotency SET outcome = NULL WHERE method = ? AND key = ?", (method, key)).rowcount
        assert changed == 1
    finally:
        db.close()


def drain(sqs, queue_url):
    bodies = []
    while True:
        got = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                  MessageAttributeNames=["All"], WaitTimeSeconds=0).get("Messages", [])
        if not got:
            return bodies
        for m in got:
            bodies.append((m["Body"], {k: v["StringValue"] for k, v in (m.get("MessageAttributes") or {}).items()}))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=m["ReceiptHandle"])


@pytest.fixture
def service(moto, boto):
    s3, sqs = boto("s3"), boto("sqs")
    name = "crash-" + uuid.uuid4().hex[:8]
    s3.create_bucket(Bucket=name)
    fifo = sqs.create_queue(QueueName=name + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    standard = sqs.create_queue(QueueName=name)["QueueUrl"]
    return s3, sqs, name, fifo, standard


def test_started_records_are_resolved_from_the_service(moto, service):
    s3, sqs, bucket, fifo, standard = service
    d = queue_daemon(moto, bucket, fifo).start()
    put = {"key": "snap", "data": b64(b"bytes of a snapshot"), "ifNoneMatch": "*", "idempotencyKey": "put-1"}
    send = {"body": "job", "groupId": "g", "idempotencyKey": "send-1"}
    try:
        with d.connect() as c:
            first_put = c.result("object.put", put)
            c.result("queue.send", send)
        kill(d)
        forget_outcome(d, "object.put", "put-1")
        forget_outcome(d, "queue.send", "send-1")
        d.start()
        with d.connect() as c:
            # The object is there with these bytes: done, not PreconditionFailed (ifNoneMatch).
            again = c.result("object.put", put)
            assert {k: again[k] for k in ("etag", "contentId", "size")} == \
                   {k: first_put[k] for k in ("etag", "contentId", "size")}
            c.result("queue.send", send)  # SQS drops it: same deduplication id
            # Other bytes under the same key and a new idempotency key are a real conflict.
            err = c.error("object.put", {**put, "data": b64(b"other"), "idempotencyKey": "put-2"})
            assert err["data"]["reason"] == "PreconditionFailed"
    finally:
        assert d.stop() == 0
    assert [body for body, _ in drain(sqs, fifo)] == ["job"]

    d = queue_daemon(moto, bucket, standard).start()
    try:
        with d.connect() as c:
            c.result("queue.send", {"body": "plain", "idempotencyKey": "send-2"})
            c.result("queue.sendBatch", {"messages": [{"body": "b0"}, {"body": "b1"}], "idempotencyKey": "batch-2"})
            c.result("queue.send", {"body": "unkeyed"})
    finally:
        assert d.stop() == 0
    got = dict(drain(sqs, standard))
    assert got["plain"] == {"rolloutd-idempotency-key": "send-2"}
    assert got["b0"] == {"rolloutd-idempotency-key": "batch-2#0"} and got["b1"] == {"rolloutd-idempotency-key": "batch-2#1"}
    assert got["unkeyed"] == {}


def test_fifo_deduplication_ids_are_derived_from_the_key(moto, service):
    _, sqs, bucket, fifo, _ = service
    d = queue_daemon(moto, bucket, fifo).start()
    try:
        with d.connect() as c:
            c.result("queue.sendBatch", {"messages": [{"body": "x", "groupId": "g"}, {"body": "x", "groupId": "g"}],
                                         "idempotencyKey": "b"})
            c.result("queue.send", {"body": "y", "groupId": "g", "deduplicationId": "mine", "idempotencyKey": "s"})
    finally:
        assert d.stop() == 0
    got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    ids = [m["Attributes"]["MessageDeduplicationId"] for m in got]
    # One id per batch position (both "x" are delivered), 64 hex digits; the caller's own id wins.
    assert len(ids) == 3 and len(set(ids)) == 3 and ids[2] == "mine"
    assert all(len(i) == 64 and int(i, 16) >= 0 for i in ids[:2])


def test_keyed_native_start_resumed_after_a_crash_finds_its_deployment(moto, lam):
    d = RolloutDaemon(aws_env(moto)).start()
    p = start_params(lam, {"type": "linear", "percent": 50, "intervalSeconds": 30}, idempotencyKey="deploy-crash")
    try:
        with d.connect() as c:
            first = c.result("rollout.start", p)
        kill(d)
        forget_outcome(d, "rollout.start", "deploy-crash")
        d.start()
        with d.connect() as c:
            again = c.result("rollout.start", p)
            assert again["deploymentId"] == first["deploymentId"]
            assert [x["deploymentId"] for x in c.result("rollout.list", {"function": lam["name"]})["deployments"]] == \
                   [first["deploymentId"]]
            c.result("rollout.stop", {"deploymentId": first["deploymentId"], "idempotencyKey": "stop-crash"})
            forget_outcome(d, "rollout.stop", "stop-crash")
            stopped = c.result("rollout.stop", {"deploymentId": first["deploymentId"], "idempotencyKey": "stop-crash"})
            assert stopped["status"] == "Stopped"
    finally:
        assert d.stop() == 0


def test_keyed_codedeploy_start_resumed_after_a_crash_finds_its_deployment(moto, boto, lam, group):
    application, group_name = group
    d = CodeDeployDaemon(aws_env(moto), application, group_name).start()
    p = codedeploy_params(lam, {"type": "allAtOnce"}, idempotencyKey="cd-crash")
    try:
        with d.connect() as c:
            first = c.result("rollout.start", p)
        kill(d)
        # The window between CreateDeployment and saving the record: neither is in the database.
        forget_outcome(d, "rollout.start", "cd-crash")
        db = sqlite3.connect(d.root / "state" / "state.sqlite")
        with db:
            assert db.execute("DELETE FROM rollouts WHERE id = ?", (first["deploymentId"],)).rowcount == 1
        db.close()
        d.start()
        with d.connect() as c:
            again = c.result("rollout.start", p)
            assert again["deploymentId"] == first["deploymentId"]
            got = c.result("rollout.get", {"deploymentId": first["deploymentId"]})
            assert got["fromVersion"] == "1" and got["toVersion"] == "2" and got["engine"] == "codedeploy"
        info = boto("codedeploy").get_deployment(deploymentId=first["deploymentId"])["deploymentInfo"]
        assert info["description"].startswith("rolloutd k=")
        assert len(boto("codedeploy").list_deployments(applicationName=application,
                                                       deploymentGroupName=group_name)["deployments"]) == 1
    finally:
        assert d.stop() == 0


def test_sigkill_loop_on_moto(moto, service):
    s3, sqs, bucket, fifo, _ = service
    d = queue_daemon(moto, bucket, fifo)
    ledger = Ledger()
    data = {}

    def put_params(n):
        # ifNoneMatch on a fresh key: a second execution of the put would fail PreconditionFailed.
        data[f"obj-{n}"] = random_bytes(seeded("aws-put", n), 1, 16 * 1024)
        return {"key": f"obj-{n}", "data": b64(data[f"obj-{n}"]), "ifNoneMatch": "*"}

    def put_worker(stop):
        pipeline(d, ledger, lambda: ledger.new("object.put", put_params), stop)

    def send_worker(stop):
        pipeline(d, ledger, lambda: ledger.new("queue.send", lambda n: {"body": f"send-{n}", "groupId": f"g{n % 4}"}), stop)

    state_db = d.root / "state" / "state.sqlite"
    try:
        figures = crash_loop(d, ledger, [put_worker, put_worker, send_worker, send_worker], seeded("aws-kills"), KILLS,
                             state_db, max_seconds=60, pause=(0.1, 1.0))
        retry_all(d, ledger, ledger.order)
    finally:
        code = d.stop()
    assert code == 0
    assert integrity_check(state_db) == "ok"

    objects_wrong = []
    for key in ledger.order:
        call = ledger.calls[key]
        if call.method == "object.put" and call.acked is not None:
            got = s3.get_object(Bucket=bucket, Key=call.params["key"])
            body = got["Body"].read()
            if body != data[call.params["key"]] or got["ETag"].strip('"') != call.acked["etag"] or \
                    hashlib.md5(body).hexdigest() != call.acked["etag"]:
                objects_wrong.append(call.params["key"])
    delivered = [body for body, _ in drain(sqs, fifo)]
    sends = [ledger.calls[k] for k in ledger.order if ledger.calls[k].method == "queue.send"]
    expected = {call.params["body"] for call in sends if call.acked is not None}
    duplicate_sends = len(delivered) - len(set(delivered))
    errors = {key: call.errors for key, call in ledger.calls.items() if call.errors}
    duplicate_puts = sum(1 for errs in errors.values() for e in errs if e.get("data", {}).get("reason") == "PreconditionFailed")
    unanswered = [key for key, call in ledger.calls.items() if call.acked is None]
    lost = len(expected - set(delivered)) + len(objects_wrong)
    puts = sum(1 for c in ledger.calls.values() if c.method == "object.put")
    print(f"\nSIGKILL loop (aws on moto): kills={figures['kills']} in {figures['seconds']} s, calls={ledger.requests}, "
          f"keyed puts={puts}, keyed FIFO sends={len(sends)}, delivered={len(delivered)}, "
          f"duplicates={duplicate_sends + duplicate_puts}, lost={lost}")
    assert figures["kills"] >= KILLS
    assert not unanswered, unanswered[:5]
    assert duplicate_sends == 0 and duplicate_puts == 0, list(errors.items())[:5]
    assert not errors, list(errors.items())[:5]
    assert lost == 0, (sorted(expected - set(delivered))[:5], objects_wrong[:5])
    assert set(delivered) <= {call.params["body"] for call in sends}
