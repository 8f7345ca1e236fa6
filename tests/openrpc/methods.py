"""Method names documented in the OpenRPC document (SPEC §3: `rpc.discover` serves it).

Other test suites compare these names with the methods the daemon registers:

    sys.path.insert(0, str(REPO / "tests" / "openrpc"))
    from methods import documented_methods

Run as a script it prints the names, one a line, sorted.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parents[2] / "proto-json" / "rollout.openrpc.json"


def load_document(path: str | Path = DOCUMENT) -> dict:
    """The OpenRPC document at `path`, parsed."""
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def resolve_pointer(document: dict, ref: str):
    """The value a local `$ref` (`#/a/b`) points at inside `document`; KeyError/IndexError when it does not exist."""
    if not ref.startswith("#"):
        raise KeyError(f"not a local reference: {ref}")
    node = document
    for token in filter(None, ref[1:].split("/")):
        token = token.replace("~1", "/").replace("~0", "~")
        node = node[int(token)] if isinstance(node, list) else node[token]
    return node


def documented_methods(path: str | Path = DOCUMENT) -> set[str]:
    """The names of every method in the document's `methods` array (`$ref` entries resolved)."""
    document = load_document(path)
    names = set()
    for method in document["methods"]:
        if "$ref" in method:
            method = resolve_pointer(document, method["$ref"])
        names.add(method["name"])
    return names


if __name__ == "__main__":
    print("\n".join(sorted(documented_methods(sys.argv[1] if len(sys.argv) > 1 else DOCUMENT))))
