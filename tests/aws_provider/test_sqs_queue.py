"""SQS through the daemon (SPEC §4.3) against moto, with boto3 as the other side."""
import time

import pytest

from tests.aws_provider.test_aws_provider import AWSDaemon, aws_env


@pytest.fixture
def queue_daemon(moto, boto):
    sqs = boto("sqs")
    name = f"q{int(time.time() * 1000)}"
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    fifo = sqs.create_queue(QueueName=name + ".fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    d = AWSDaemon(aws_env(moto))
    d.config.write_text(d.config.read_text().replace(
        "[cloud.aws.secrets]", f'[cloud.aws.sqs]\nqueue_url = "{url}"\nvisibility_timeout_secs = 30\n[cloud.aws.secrets]'))
    d.start()
    yield d, sqs, url, fifo
    assert d.stop() == 0


def test_send_receive_both_ways(queue_daemon):
    d, sqs, url, _ = queue_daemon
    with d.connect() as c:
        sent = c.result("queue.send", {"body": "to-boto3", "attributes": {"k": "v"}})
        got = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"][0]
        assert got["MessageId"] == sent["messageId"] and got["Body"] == "to-boto3"
        assert got["MessageAttributes"]["k"]["StringValue"] == "v"
        sqs.delete_message(QueueUrl=url, ReceiptHandle=got["ReceiptHandle"])
        sqs.send_message(QueueUrl=url, MessageBody="from-boto3",
                         MessageAttributes={"a": {"DataType": "String", "StringValue": "b"}})
        msg = c.result("queue.receive", {"waitSeconds": 2})["messages"][0]
        assert msg["body"] == "from-boto3" and msg["attributes"] == {"a": "b"} and msg["receiveCount"] == 1
        c.result("queue.ack", {"receipt": msg["receipt"]})


def test_nack_extend_and_auto_extend(queue_daemon):
    d, sqs, url, _ = queue_daemon
    with d.connect() as c:
        c.result("queue.send", {"body": "n"})
        m = c.result("queue.receive", {"visibilitySeconds": 30})["messages"][0]
        c.result("queue.nack", {"receipt": m["receipt"]})
        m2 = c.result("queue.receive", {"visibilitySeconds": 2, "waitSeconds": 1})["messages"][0]
        assert m2["messageId"] == m["messageId"] and m2["receiveCount"] == 2
        c.result("queue.extend", {"receipt": m2["receipt"], "visibilitySeconds": 6})
        time.sleep(3)  # past the original 2 s
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        c.result("queue.ack", {"receipt": m2["receipt"]})

        c.result("queue.send", {"body": "leased"})
        holder = d.connect()
        leased = holder.result("queue.receive", {"visibilitySeconds": 2, "autoExtend": True})["messages"][0]
        time.sleep(4)  # twice the visibility timeout: the daemon keeps extending it
        assert "Messages" not in sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0)
        holder.close()  # released for redelivery
        back = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=3)["Messages"][0]
        assert back["MessageId"] == leased["messageId"]


def test_batches_keep_order_and_fifo_dedups(queue_daemon, moto):
    d, sqs, url, fifo = queue_daemon
    with d.connect() as c:
        res = c.result("queue.sendBatch", {"messages": [{"body": f"m{i}"} for i in range(23)]})["results"]
        assert len(res) == 23 and all("messageId" in r for r in res)
        seen = {}
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            for m in got:
                seen[m["MessageId"]] = m["Body"]
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        assert [seen[r["messageId"]] for r in res] == [f"m{i}" for i in range(23)]
    # FIFO dedup through a daemon pointed at the FIFO queue.
    f = AWSDaemon(aws_env(moto))
    f.config.write_text(f.config.read_text().replace(
        "[cloud.aws.secrets]", f'[cloud.aws.sqs]\nqueue_url = "{fifo}"\n[cloud.aws.secrets]'))
    f.start()
    try:
        with f.connect() as c:
            for _ in range(2):  # accepted twice, delivered once
                c.result("queue.send", {"body": "once", "groupId": "g", "deduplicationId": "d1"})
            got = sqs.receive_message(QueueUrl=fifo, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
            assert len(got) == 1
    finally:
        assert f.stop() == 0


def test_leases_are_released_when_the_daemon_stops(queue_daemon):
    d, sqs, url, _ = queue_daemon
    with d.connect() as c:
        c.result("queue.send", {"body": "held"})
        held = c.result("queue.receive", {"visibilitySeconds": 60, "autoExtend": True})["messages"][0]
        assert d.stop() == 0  # SIGTERM: the daemon releases what it leased
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert got[0]["MessageId"] == held["messageId"]  # visible again long before the 60 s lapse
    d.start()  # the fixture stops it again


def test_restart_after_sigkill_releases_auto_extended_messages(queue_daemon):
    import signal
    d, sqs, url, _ = queue_daemon
    with d.connect() as c:
        c.result("queue.send", {"body": "held by a dead daemon"})
        held = c.result("queue.receive", {"visibilitySeconds": 120, "autoExtend": True})["messages"][0]
        d.stop(signal.SIGKILL)  # no shutdown release: only the lease journal knows
    d.start()  # releases what the journal holds for this queue at once
    got = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    assert got[0]["MessageId"] == held["messageId"]  # visible again long before the 120 s lapse
