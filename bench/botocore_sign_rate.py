#!/usr/bin/env python3
"""Baseline for rollout-bench's SigV4 figure: botocore signing the benchmark request.

The request is a representative S3 UploadPart, the same one rollout-bench signs with
AWSSigV4.SigV4Signer (Sources/rollout-bench/SigV4Rate.swift; keep the two in step):
PUT https://s3.us-east-1.amazonaws.com/bucket/some/key%20with%20space?partNumber=7&uploadId=abc
with headers host, content-length and x-amz-checksum-sha256, temporary credentials (a session
token) and a precomputed payload hash (the SHA-256 of an 8 MiB part of zero bytes).

botocore's S3SigV4Auth hashes the body itself; to sign with a precomputed hash, as
`PayloadHash.sha256(hex:)` does on our side, the only change is that `payload()` returns it.
Everything else (date, headers, canonical request, key derivation, signature) is botocore's.

Each iteration builds a fresh AWSRequest and calls add_auth on it (the signer object is reused),
single thread, for about --seconds after a short warm-up.

Usage: python3 bench/botocore_sign_rate.py [--seconds S]
Prints one JSON object: {"signatures_per_second": N, "signatures": n, "seconds": s,
"reference_authorization": "..."}, where reference_authorization is the Authorization header
botocore computes for the request at REFERENCE_EPOCH (rollout-bench compares it with its own).
"""

import argparse
import datetime
import json
import sys
import time

from botocore import auth as botocore_auth
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

REGION = "us-east-1"
HOST = "s3.us-east-1.amazonaws.com"
URL = f"https://{HOST}/bucket/some/key%20with%20space?partNumber=7&uploadId=abc"
PART_SIZE = 8 * 1024 * 1024
# SHA-256 of PART_SIZE zero bytes: hex for the payload hash, base64 for the checksum header.
PAYLOAD_SHA256_HEX = "2daeb1f36095b44b318410b3f4e8b5d989dcc7bb023d1426c492dab0a3053e74"
PAYLOAD_SHA256_BASE64 = "La6x82CVtEsxhBCz9Oi12Yncx7sCPRQmxJLasKMFPnQ="
ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjE" + "EXAMPLEtoken0123" * 24  # 401 characters, like an STS token
REFERENCE_EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z


class PrecomputedPayloadS3SigV4Auth(S3SigV4Auth):
    """S3SigV4Auth signing with a payload hash computed beforehand (no body hashing)."""

    def payload(self, request):
        return PAYLOAD_SHA256_HEX


def make_request():
    return AWSRequest(
        method="PUT",
        url=URL,
        headers={
            "host": HOST,
            "content-length": str(PART_SIZE),
            "x-amz-checksum-sha256": PAYLOAD_SHA256_BASE64,
        },
    )


def make_signer():
    return PrecomputedPayloadS3SigV4Auth(Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN), "s3", REGION)


def reference_authorization():
    """The Authorization header for the request signed at REFERENCE_EPOCH."""
    fixed = datetime.datetime.fromtimestamp(REFERENCE_EPOCH, datetime.timezone.utc).replace(tzinfo=None)
    original = botocore_auth.get_current_datetime
    botocore_auth.get_current_datetime = lambda *args, **kwargs: fixed
    try:
        request = make_request()
        make_signer().add_auth(request)
        return request.headers["Authorization"]
    finally:
        botocore_auth.get_current_datetime = original


def measure(seconds=1.0):
    """Signatures per second over about `seconds` (after 0.1 s of warm-up), one thread."""
    signer = make_signer()
    clock = time.perf_counter
    warm_end = clock() + 0.1
    while clock() < warm_end:
        signer.add_auth(make_request())
    count = 0
    start = clock()
    end = start + seconds
    now = start
    while now < end:
        for _ in range(64):
            signer.add_auth(make_request())
        count += 64
        now = clock()
    elapsed = now - start
    return {"signatures_per_second": count / elapsed, "signatures": count, "seconds": elapsed}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()
    result = measure(args.seconds)
    result["reference_authorization"] = reference_authorization()
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
