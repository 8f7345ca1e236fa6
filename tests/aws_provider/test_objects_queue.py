"""First wiring of S3 and SQS into the daemon on provider `aws` (issue 4 continues this):
a multipart upload from a file and a queue round trip, checked with boto3."""
import hashlib
import os

from tests.aws_provider.test_aws_provider import AWSDaemon, aws_env


def content_id(data, chunk):
    return hashlib.sha256(b"".join(hashlib.sha256(data[i:i + chunk]).digest()
                                   for i in range(0, len(data), chunk))).hexdigest()


def test_objects_and_queue_through_the_daemon(moto, boto):
    s3, sqs = boto("s3"), boto("sqs")
    s3.create_bucket(Bucket="rollout-e2e")
    queue_url = sqs.create_queue(QueueName="rollout-e2e")["QueueUrl"]
    d = AWSDaemon(aws_env(moto))
    chunk = 5 * 1024 * 1024
    d.config.write_text(d.config.read_text().replace(
        "[cloud.aws.secrets]",
        f'[cloud.aws.s3]\nbucket = "rollout-e2e"\nprefix = "runs/"\nforce_path_style = true\n'
        f"multipart_chunk_bytes = {chunk}\n[cloud.aws.sqs]\nqueue_url = \"{queue_url}\"\n[cloud.aws.secrets]"))
    d.start()
    try:
        data = os.urandom(12 * 1024 * 1024 + 123)
        src = d.files / "snapshot.bin"
        src.write_bytes(data)
        with d.connect() as c:
            put = c.result("object.put", {"key": "snap/1.bin", "path": str(src)})
            assert put["parts"] == 3 and put["size"] == len(data)
            assert put["contentId"] == content_id(data, chunk)
            assert s3.get_object(Bucket="rollout-e2e", Key="runs/snap/1.bin")["Body"].read() == data
            assert s3.list_multipart_uploads(Bucket="rollout-e2e").get("Uploads", []) == []
            out = d.files / "back.bin"
            c.result("object.get", {"key": "snap/1.bin", "path": str(out)})
            assert out.read_bytes() == data
            assert c.result("object.head", {"key": "snap/1.bin"})["contentId"] == put["contentId"]
            assert [o["key"] for o in c.result("object.list", {"prefix": "snap/"})["objects"]] == ["snap/1.bin"]

            sent = c.result("queue.send", {"body": "job-42", "attributes": {"kind": "e2e"}})
            got = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=1)["Messages"]
            assert got[0]["Body"] == "job-42" and got[0]["MessageId"] == sent["messageId"]
            sqs.send_message(QueueUrl=queue_url, MessageBody="from-boto3")
            msgs = c.result("queue.receive", {"waitSeconds": 2})["messages"]
            assert msgs[0]["body"] == "from-boto3"
            c.result("queue.ack", {"receipt": msgs[0]["receipt"]})
    finally:
        assert d.stop() == 0
