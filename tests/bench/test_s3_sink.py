"""bench/s3_sink.c, the upload benchmark's S3 sink, is itself tested: it must take a real boto3
multipart upload (verifying every part's x-amz-checksum-sha256), reject a wrong checksum with
400 BadDigest and count it, and pace to the rate it is given."""
import base64
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bench"))
import benchlib  # noqa: E402
import raw_upload  # noqa: E402

boto3 = pytest.importorskip("boto3")
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402


@pytest.fixture(scope="module")
def sink_binary(tmp_path_factory):
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    binary = tmp_path_factory.mktemp("sink") / "s3-sink"
    subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-pthread", "-o", str(binary), str(REPO / "bench" / "s3_sink.c"),
                    "-lcrypto"], check=True)
    return str(binary)


@pytest.fixture
def sink(sink_binary):
    proc, url = benchlib.start_sink(sink_binary, max_seconds=120)
    yield url
    benchlib.stop(proc)


def client(url):
    return boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"mode": "standard", "max_attempts": 1}))


def test_boto3_multipart_upload_is_verified_part_by_part(sink, tmp_path):
    from boto3.s3.transfer import TransferConfig

    path = tmp_path / "twelve.bin"
    path.write_bytes(os.urandom(12 << 20))
    s3 = client(sink)
    s3.upload_file(str(path), "b", "dir/twelve mib.bin", ExtraArgs={"ChecksumAlgorithm": "SHA256"},
                   Config=TransferConfig(multipart_threshold=5 << 20, multipart_chunksize=5 << 20))
    stats = benchlib.sink_stats(sink)
    assert (stats["creates"], stats["parts"], stats["completes"]) == (1, 3, 1)
    assert stats["verified_sha256"] == 3 and stats["bad_digest"] == 0 and stats["bad_content_sha256"] == 0
    assert stats["body_bytes"] >= 12 << 20
    assert s3.head_object(Bucket="b", Key="dir/twelve mib.bin")["ContentLength"] == 12 << 20
    put = s3.put_object(Bucket="b", Key="small", Body=b"hello", ChecksumAlgorithm="SHA256")
    assert put["ChecksumSHA256"] == base64.b64encode(hashlib.sha256(b"hello").digest()).decode()
    assert s3.head_object(Bucket="b", Key="small")["ContentLength"] == 5


def test_wrong_checksum_is_rejected_with_bad_digest_and_counted(sink):
    s3 = client(sink)
    upload_id = s3.create_multipart_upload(Bucket="b", Key="k", ChecksumAlgorithm="SHA256")["UploadId"]
    wrong = base64.b64encode(hashlib.sha256(b"other bytes").digest()).decode()
    with pytest.raises(ClientError) as raised:
        s3.upload_part(Bucket="b", Key="k", UploadId=upload_id, PartNumber=1, Body=b"part bytes", ChecksumSHA256=wrong)
    assert raised.value.response["Error"]["Code"] == "BadDigest"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert benchlib.sink_stats(sink)["bad_digest"] == 1
    s3.abort_multipart_upload(Bucket="b", Key="k", UploadId=upload_id)
    with pytest.raises(ClientError) as raised:
        s3.upload_part(Bucket="b", Key="k", UploadId=upload_id, PartNumber=2, Body=b"late")
    assert raised.value.response["Error"]["Code"] == "NoSuchUpload"


def test_paced_sink_holds_the_rate(sink_binary, tmp_path):
    path = tmp_path / "twenty.bin"
    path.write_bytes(os.urandom(20 << 20))
    proc, url = benchlib.start_sink(sink_binary, pace_mbps=50, max_seconds=120)
    try:
        result = raw_upload.upload(url, "b", "paced", str(path), 5 << 20, 4)
    finally:
        benchlib.stop(proc)
    # 20 MiB at 50 MB/s, less the 2 MiB burst: at least 0.37 s however fast the machine.
    assert result["wall"] >= ((20 << 20) - (2 << 20)) / 50e6 * 0.95
    assert result["parts"] == 4


def test_aws_chunked_and_chunked_bodies_with_trailer_checksums(sink):
    """What an SDK sends over https: aws-chunked bodies whose SHA-256 comes in a trailer."""
    url = sink.split("//", 1)[1]
    host, port = url.split(":")
    digest = base64.b64encode(hashlib.sha256(b"hello world").digest()).decode()
    wrong = base64.b64encode(hashlib.sha256(b"hello there").digest()).decode()

    def put(key, framing, checksum):
        body = f"6\r\nhello \r\n5\r\nworld\r\n0\r\nx-amz-checksum-sha256:{checksum}\r\n\r\n".encode()
        if framing == "aws-chunked":
            headers = (f"Content-Encoding: aws-chunked\r\nx-amz-decoded-content-length: 11\r\n"
                       f"Content-Length: {len(body)}\r\nx-amz-content-sha256: STREAMING-UNSIGNED-PAYLOAD-TRAILER\r\n")
        else:
            headers = "Transfer-Encoding: chunked\r\n"
        request = (f"PUT /b/{key} HTTP/1.1\r\nHost: {url}\r\nx-amz-trailer: x-amz-checksum-sha256\r\n{headers}"
                   "Connection: close\r\n\r\n").encode() + body
        with socket.create_connection((host, int(port))) as conn:
            conn.sendall(request)
            reply = b""
            while chunk := conn.recv(65536):
                reply += chunk
        return int(reply.split(b" ", 2)[1])

    assert put("a", "aws-chunked", digest) == 200
    assert put("b", "chunked", digest) == 200
    assert put("c", "aws-chunked", wrong) == 400
    stats = benchlib.sink_stats(sink)
    assert (stats["verified_sha256"], stats["bad_digest"], stats["chunked_bodies"]) == (2, 1, 3)
    assert client(sink).head_object(Bucket="b", Key="a")["ContentLength"] == 11
