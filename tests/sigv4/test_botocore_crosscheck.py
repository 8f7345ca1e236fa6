"""The committed cross-check cases (tests/sigv4/cases.txt) are what botocore signs.

The Swift side, Tests/AWSSigV4Tests/BotocoreCrossCheckTests.swift, signs every case in that
file and must produce byte-identical Authorization headers. Here we make sure the file itself
stays honest: it regenerates identically (so a botocore upgrade that changes signing, or an edit
to the file, is noticed), and a random sample re-signs from the parsed file alone.
"""
import random
from datetime import datetime, timezone

import botocore
import pytest

from . import crosscheck_cases
from .botocore_signing import encode_path, sign, wire_url


@pytest.fixture(scope="module")
def committed_text():
    return crosscheck_cases.CASES_FILE.read_text(encoding="utf-8")


def test_committed_file_regenerates_identically(committed_text, tmp_path):
    regenerated = tmp_path / "cases.txt"
    regenerated.write_text(crosscheck_cases.generate(), encoding="utf-8")
    assert regenerated.read_text(encoding="utf-8") == committed_text, (
        f"botocore {botocore.__version__} or the generator no longer produces the committed cases; "
        "inspect the difference, then run `python3 -m tests.sigv4.crosscheck_cases`"
    )


def test_committed_file_has_the_promised_spread(committed_text):
    cases = crosscheck_cases.parse(committed_text)
    assert len(cases) == crosscheck_cases.COUNT
    services = {case["service"] for case in cases}
    assert {"s3", "lambda", "sqs", "secretsmanager"} <= services
    assert {case["method"] for case in cases} == {"GET", "PUT", "POST", "DELETE", "HEAD"}
    assert any(case["payload"] == "unsigned" for case in cases)
    assert any(case["service"] == "s3" and case["payload"] == "sha256" and case["body"] for case in cases)
    assert any("session-token" in case for case in cases) and any("session-token" not in case for case in cases)
    assert any("//" in case["path"] or "/./" in case["path"] for case in cases)
    assert any(any("\n" in value for _, value in case["header"]) for case in cases)
    assert any(len({name for name, _ in case["query"]}) < len(case["query"]) for case in cases)


@pytest.mark.parametrize("draw", range(20))
def test_random_committed_case_resigns(committed_text, draw):
    cases = crosscheck_cases.parse(committed_text)
    case = random.choice(cases)
    assert encode_path(case["raw-path"]) == case["path"], case["id"]
    assert wire_url(case["scheme"], case["host"], case["path"], case["query"]) == case["url"], case["id"]
    when = datetime.fromtimestamp(int(case["seconds"]), timezone.utc)
    assert when.strftime("%Y%m%dT%H%M%SZ") == case["amz-date"], case["id"]
    signed = sign(
        method=case["method"], url=case["url"], headers=case["header"], body=case["body"],
        service=case["service"], region=case["region"], access_key=case["access-key-id"],
        secret_key=case["secret-access-key"], token=case.get("session-token"), when=when,
        unsigned_payload=case["payload"] == "unsigned",
    )
    assert signed.authorization == case["authorization"], case["id"]
    if case["service"] == "s3":
        expected_hash = "UNSIGNED-PAYLOAD" if case["payload"] == "unsigned" else crosscheck_cases.body_sha256(case)
        assert ("x-amz-content-sha256", expected_hash) in case["expect-header"], case["id"]
