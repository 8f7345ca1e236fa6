"""The SigV4 vectors in tests/sigv4/fixtures agree with botocore.

Tests/AWSSigV4Tests/SigV4VectorTests.swift holds the Swift signer to these files; here botocore
re-derives each canonical request, string to sign and Authorization from request.txt (see
fixtures/SOURCE.md for the format and where each case comes from).
"""
from pathlib import Path

import pytest

from .botocore_signing import sign_fixture

FIXTURES = Path(__file__).resolve().parent / "fixtures"
CASES = sorted(p.name for p in FIXTURES.iterdir() if p.is_dir())


def read(case, name):
    path = FIXTURES / case / name
    return path.read_text(encoding="utf-8") if path.exists() else ""


def test_fixture_set_is_complete():
    assert len(CASES) >= 28
    for case in CASES:
        for name in ("request.txt", "canonical-request.txt", "string-to-sign.txt", "authorization.txt"):
            assert (FIXTURES / case / name).is_file(), f"{case}/{name}"


@pytest.mark.parametrize("case", CASES)
def test_botocore_reproduces_fixture(case):
    signed = sign_fixture(read(case, "request.txt"), read(case, "context.txt"))
    assert signed.canonical_request == read(case, "canonical-request.txt")
    assert signed.string_to_sign == read(case, "string-to-sign.txt")
    assert signed.authorization == read(case, "authorization.txt")
