"""Replays the vector files through `socat` exactly as a shell user would (one socat per pair)."""
import json
import shutil
import subprocess
from pathlib import Path

import pytest

VECTORS = Path(__file__).parent / "vectors"


def load_pairs(path):
    pairs, current = [], None
    for line in path.read_text().splitlines():
        if line.startswith("-->"):
            current = [line[4:], None]
            pairs.append(current)
        elif line.startswith("<--"):
            current[1] = line[4:]
    return pairs


def normalize(message):
    """Messages vary in wording; compare everything else exactly."""
    if isinstance(message, list):
        return sorted((normalize(m) for m in message), key=json.dumps)
    message = dict(message)
    if "error" in message:
        error = dict(message["error"])
        error.pop("message", None)
        error["data"] = {k: error.get("data", {}).get(k) for k in ("kind", "reason")}
        message["error"] = error
    return message


@pytest.mark.skipif(shutil.which("socat") is None, reason="socat is installed by `make test`")
@pytest.mark.parametrize("sent,expected", load_pairs(VECTORS / "spec-examples.txt"))
def test_vector(daemon, sent, expected):
    out = subprocess.run(
        ["socat", "-t1", "-", f"UNIX-CONNECT:{daemon.socket}"],
        input=(sent + "\n").encode(), capture_output=True, timeout=20,
    )
    assert out.returncode == 0, out.stderr
    lines = [l for l in out.stdout.decode().splitlines() if l.strip()]
    if expected is None:
        assert lines == []
        return
    assert len(lines) == 1, lines
    got = json.loads(lines[0])
    assert normalize(got) == normalize(json.loads(expected))
