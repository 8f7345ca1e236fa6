"""seed_queue.py against moto, and the moto behaviours the Swift SQSQueue tests rely on, checked
with boto3 (JSON protocol): an unknown receipt is ReceiptHandleIsInvalid for DeleteMessage and
a SenderFault Failed[] entry for DeleteMessageBatch; the 1 MiB limit is per message."""
import json
import subprocess
import sys
from pathlib import Path

import boto3
import botocore.exceptions
import pytest

HERE = Path(__file__).resolve().parent
MOTO_RUNNER = HERE.parent / "aws" / "moto_runner.py"
SEED = HERE / "seed_queue.py"


@pytest.fixture(scope="module")
def moto_url():
    proc = subprocess.Popen(
        [sys.executable, str(MOTO_RUNNER), "--exit-on-stdin-eof"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
    )
    line = proc.stdout.readline().strip()
    if not line.isdigit():
        proc.kill()
        pytest.skip("moto did not start")
    yield f"http://127.0.0.1:{int(line)}"
    proc.terminate()
    proc.wait(timeout=10)


def seed(url, *args, ops=None):
    out = subprocess.run(
        [sys.executable, str(SEED), url, *args], input=json.dumps(ops or []).encode(),
        capture_output=True, check=True, timeout=60,
    )
    return json.loads(out.stdout)


def sqs(url):
    return boto3.client(
        "sqs", endpoint_url=url, region_name="us-east-1",
        aws_access_key_id="AKIDTEST", aws_secret_access_key="secret",
    )


def test_creates_standard_and_fifo(moto_url):
    urls = seed(moto_url, "pyseed")
    assert urls["standard"].endswith("/pyseed-standard")
    assert urls["fifo"].endswith("/pyseed.fifo")
    attributes = sqs(moto_url).get_queue_attributes(QueueUrl=urls["fifo"], AttributeNames=["All"])["Attributes"]
    assert attributes["FifoQueue"] == "true"


def test_send_receive_drain(moto_url):
    url = seed(moto_url, "pyops")["standard"]
    sent = seed(moto_url, ops=[
        {"op": "send", "url": url, "body": "b1", "attributes": {"k": "v"}},
        {"op": "drain", "url": url},
    ])
    message_id, drained = sent
    assert [(m["messageId"], m["body"], m["attributes"], m["receiveCount"]) for m in drained] == [
        (message_id, "b1", {"k": "v"}, 1)
    ]


def test_unknown_receipt_codes(moto_url):
    url = seed(moto_url, "pyreceipt")["standard"]
    client = sqs(moto_url)
    with pytest.raises(botocore.exceptions.ClientError) as error:
        client.delete_message(QueueUrl=url, ReceiptHandle="bogus-receipt-handle")
    assert error.value.response["Error"]["Code"] == "ReceiptHandleIsInvalid"
    result = client.delete_message_batch(
        QueueUrl=url, Entries=[{"Id": "0", "ReceiptHandle": "bogus-receipt-handle"}]
    )
    assert [(f["Id"], f["Code"], f["SenderFault"]) for f in result["Failed"]] == [("0", "ReceiptHandleIsInvalid", True)]


def test_message_limit_is_one_mib(moto_url):
    url = seed(moto_url, "pylimit")["standard"]
    client = sqs(moto_url)
    client.send_message(QueueUrl=url, MessageBody="x" * 1_048_576)
    with pytest.raises(botocore.exceptions.ClientError):
        client.send_message(QueueUrl=url, MessageBody="x" * 1_048_577)
