#!/usr/bin/env python3
"""The raw no-hash multipart ceiling: one S3 multipart upload with as little work per byte as a
client can do, for bench/sink_upload_bench.py (and, on its own, to measure s3-sink's ceiling).

Usage: python3 bench/raw_upload.py ENDPOINT BUCKET KEY PATH [--chunk-bytes N] [--concurrency N]
                                   [--checksum]

CreateMultipartUpload, then the parts `--concurrency` at a time (default 4, as rolloutd's
upload_concurrency), each `--chunk-bytes` long (default 16 MiB, rolloutd's multipart_chunk_bytes),
then CompleteMultipartUpload. Each worker thread keeps one HTTP/1.1 keep-alive connection and
sends a part's body with os.sendfile straight from the page cache: the body never enters this
process. Requests are SigV4-signed with `UNSIGNED-PAYLOAD` and carry no checksum, so nobody
hashes the bytes (static test credentials; the sink does not check them).

--checksum computes each part's SHA-256 BEFORE the clock starts and sends it as
`x-amz-checksum-sha256`, so the sink verifies every byte: the sink's ceiling with verification.

Prints one JSON object: wall and CPU seconds (this process's rusage over the timed part, all
threads), bytes, parts, MB/s (10^6 bytes/s).
"""
import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import re
import resource
import socket
import struct
import sys
import threading
import time
import urllib.parse

ACCESS_KEY, SECRET_KEY, REGION = "testing", "testing", "us-east-1"
IO_TIMEOUT = 300  # seconds without progress on a connection before the upload fails


def sign(method, host, path, query, headers):
    """SigV4 headers (x-amz-date, Authorization) for an UNSIGNED-PAYLOAD S3 request."""
    now = datetime.datetime.now(datetime.timezone.utc)
    amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = dict(headers, host=host, **{"x-amz-date": amz_date, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"})
    names = sorted(name.lower() for name in headers)
    canonical_query = "&".join(
        f"{urllib.parse.quote(k, safe='-_.~')}={urllib.parse.quote(v, safe='-_.~')}" for k, v in sorted(query))
    canonical = "\n".join([
        method, urllib.parse.quote(path, safe="/-_.~"), canonical_query,
        "".join(f"{name}:{str(headers[name]).strip()}\n" for name in names), ";".join(names), "UNSIGNED-PAYLOAD"])
    scope = f"{day}/{REGION}/s3/aws4_request"
    to_sign = f"AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    key = ("AWS4" + SECRET_KEY).encode()
    for part in (day, REGION, "s3", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (f"AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/{scope}, "
                                f"SignedHeaders={';'.join(names)}, Signature={signature}")
    return headers


class Connection:
    """One keep-alive HTTP/1.1 connection; bodies from bytes or from a file with sendfile."""

    def __init__(self, host, port):
        self.host = f"{host}:{port}"
        self.sock = socket.create_connection((host, port), timeout=IO_TIMEOUT)
        # A blocking socket (os.sendfile needs one) whose kernel timeouts bound every send and recv.
        self.sock.settimeout(None)
        limit = struct.pack("ll", IO_TIMEOUT, 0)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def request(self, method, path, query=(), headers=None, body=b"", file=None):
        """Sends one request; `file` is (fd, offset, length). Returns (status, headers, body)."""
        length = file[2] if file else len(body)
        headers = sign(method, self.host, path, list(query), dict(headers or {}, **{"content-length": str(length)}))
        target = urllib.parse.quote(path, safe="/-_.~")
        if query:
            target += "?" + "&".join(f"{k}={urllib.parse.quote(v, safe='-_.~')}" if v != "" else k for k, v in query)
        head = f"{method} {target} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
        self.sock.sendall(head.encode() + (body if not file else b""))
        if file:
            fd, offset, remaining = file
            while remaining > 0:
                sent = os.sendfile(self.sock.fileno(), fd, offset, remaining)
                if sent == 0:
                    raise OSError("sendfile sent nothing (file shorter than expected?)")
                offset += sent
                remaining -= sent
        return self._response()

    def _response(self):
        while b"\r\n\r\n" not in self.buffer:
            self._recv()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._recv()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return status, headers, body

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise OSError("the server closed the connection")
        self.buffer += data

    def close(self):
        self.sock.close()


def upload(endpoint, bucket, key, path, chunk, concurrency, checksum=False):
    url = urllib.parse.urlsplit(endpoint)
    host, port = url.hostname, url.port or 80
    object_path = f"/{bucket}/{key}"
    size = os.path.getsize(path)
    count = max(1, (size + chunk - 1) // chunk)
    fd = os.open(path, os.O_RDONLY)
    digests = []
    if checksum:  # untimed: the sink, not this client, is being measured
        with open(path, "rb") as f:
            digests = [base64.b64encode(hashlib.sha256(f.read(chunk)).digest()).decode() for _ in range(count)]
    try:
        before = resource.getrusage(resource.RUSAGE_SELF)
        start = time.monotonic()
        control = Connection(host, port)
        status, _, body = control.request("POST", object_path, [("uploads", "")])
        match = re.search(rb"<UploadId>([^<]+)</UploadId>", body)
        if status != 200 or not match:
            raise RuntimeError(f"CreateMultipartUpload: {status} {body[:200]!r}")
        upload_id = match.group(1).decode()
        etags = [None] * count
        next_part = iter(range(count))
        lock = threading.Lock()
        errors = []

        def worker():
            connection = Connection(host, port)
            try:
                while not errors:
                    with lock:
                        index = next(next_part, None)
                    if index is None:
                        return
                    offset = index * chunk
                    headers = {"x-amz-checksum-sha256": digests[index]} if checksum else {}
                    status, reply_headers, reply = connection.request(
                        "PUT", object_path, [("partNumber", str(index + 1)), ("uploadId", upload_id)], headers,
                        file=(fd, offset, min(chunk, size - offset)))
                    if status != 200:
                        raise RuntimeError(f"UploadPart {index + 1}: {status} {reply[:200]!r}")
                    etags[index] = reply_headers["etag"]
            except Exception as error:  # noqa: BLE001 - reported by the caller
                errors.append(error)
            finally:
                connection.close()

        threads = [threading.Thread(target=worker) for _ in range(min(concurrency, count))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if errors:
            raise errors[0]
        xml = "<CompleteMultipartUpload>" + "".join(
            f"<Part><ETag>{etag}</ETag><PartNumber>{number}</PartNumber></Part>"
            for number, etag in enumerate(etags, 1)) + "</CompleteMultipartUpload>"
        status, _, body = control.request("POST", object_path, [("uploadId", upload_id)],
                                          {"content-type": "application/xml"}, xml.encode())
        if status != 200 or b"<Error>" in body:
            raise RuntimeError(f"CompleteMultipartUpload: {status} {body[:200]!r}")
        control.close()
        wall = time.monotonic() - start
        after = resource.getrusage(resource.RUSAGE_SELF)
    finally:
        os.close(fd)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"wall": wall, "cpu": cpu, "bytes": size, "parts": count, "mbps": size / wall / 1e6}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("endpoint")
    parser.add_argument("bucket")
    parser.add_argument("key")
    parser.add_argument("path")
    parser.add_argument("--chunk-bytes", type=int, default=16 << 20)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--checksum", action="store_true",
                        help="send each part's SHA-256 (computed before timing) so the sink verifies it")
    args = parser.parse_args()
    print(json.dumps(upload(args.endpoint, args.bucket, args.key, args.path, args.chunk_bytes, args.concurrency,
                            args.checksum)))


if __name__ == "__main__":
    sys.exit(main())
