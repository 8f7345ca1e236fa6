"""Checks proto-json/rollout.openrpc.json against the OpenRPC 1.3 meta-schema, offline.

The meta-schema `$ref`s https://meta.json-schema.tools; a `referencing.Registry` maps that URI to
the copy in tests/fixtures/openrpc and refuses every other remote URI, so nothing is fetched.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from referencing.jsonschema import DRAFT7

sys.path.insert(0, str(Path(__file__).resolve().parent))
from methods import DOCUMENT, documented_methods, load_document, resolve_pointer  # noqa: E402

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "openrpc"
DOCUMENT_URI = "urn:rolloutd:openrpc"

# SPEC §4, in order.
SPEC_METHODS = [
    "rpc.discover", "sys.health", "sys.ping",
    "object.put", "object.get", "object.head", "object.delete", "object.list",
    "queue.send", "queue.sendBatch", "queue.receive", "queue.ack", "queue.ackBatch", "queue.nack", "queue.extend",
    "secret.get", "secret.put",
    "compute.hint",
    "rollout.plan", "rollout.start", "rollout.get", "rollout.wait", "rollout.stop", "rollout.promote",
    "rollout.pause", "rollout.resume", "rollout.list", "rollout.reportHook",
]  # fmt: skip
# SPEC §3.2: the mutating methods, which accept idempotencyKey and may answer replayed: true.
MUTATING = ["object.put", "object.delete", "queue.send", "queue.sendBatch", "rollout.start", "rollout.stop", "rollout.promote"]
# SPEC §3: the methods that report $/progress.
PROGRESS_METHODS = ["object.put", "object.get", "rollout.wait"]
# SPEC §3.1, plus the protocol errors the methods list.
ERROR_TABLE = {
    "Throttled": (-32001, "recoverable"),
    "Unavailable": (-32002, "recoverable"),
    "DeadlineExceeded": (-32003, "recoverable"),
    "InProgress": (-32004, "recoverable"),
    "ConfigInvalid": (-32010, "fatal"),
    "NotFound": (-32011, "fatal"),
    "AccessDenied": (-32012, "fatal"),
    "PreconditionFailed": (-32013, "fatal"),
    "Conflict": (-32014, "fatal"),
    "ReadOnly": (-32015, "fatal"),
    "TooLarge": (-32016, "fatal"),
    "Unsupported": (-32017, "fatal"),
    "InvalidParams": (-32602, "fatal"),
    "RequestCancelled": (-32800, "recoverable"),
}


def _refuse_remote(uri: str):
    raise NoSuchResource(ref=uri)


@pytest.fixture(scope="module")
def document() -> dict:
    return load_document()


@pytest.fixture(scope="module")
def meta_validator() -> Draft7Validator:
    with open(FIXTURES / "openrpc-1.3-schema.json", encoding="utf-8") as handle:
        meta = json.load(handle)
    with open(FIXTURES / "json-schema-tools-meta-schema.json", encoding="utf-8") as handle:
        tools = Resource(contents=json.load(handle), specification=DRAFT7)
    registry = Registry(retrieve=_refuse_remote).with_resources(
        [("https://meta.json-schema.tools", tools), ("https://meta.json-schema.tools/", tools)]
    )
    Draft7Validator.check_schema(meta)
    return Draft7Validator(meta, registry=registry)


@pytest.fixture(scope="module")
def schema_registry(document) -> Registry:
    """The document as a draft-07 resource, so `#/components/schemas/...` resolves inside it."""
    return Registry(retrieve=_refuse_remote).with_resource(
        DOCUMENT_URI, Resource(contents=document, specification=DRAFT7)
    )


def _methods(document: dict) -> dict[str, dict]:
    return {m["name"]: m for m in document["methods"]}


def _validator_at(registry: Registry, pointer: str) -> Draft7Validator:
    return Draft7Validator(
        {"$ref": f"{DOCUMENT_URI}#{pointer}"}, registry=registry, format_checker=Draft7Validator.FORMAT_CHECKER
    )


def _result(document, registry, name) -> Draft7Validator:
    index = [m["name"] for m in document["methods"]].index(name)
    return _validator_at(registry, f"/methods/{index}/result/schema")


def _param(document, registry, method, param) -> Draft7Validator:
    index = [m["name"] for m in document["methods"]].index(method)
    names = [p["name"] for p in document["methods"][index]["params"]]
    return _validator_at(registry, f"/methods/{index}/params/{names.index(param)}/schema")


def _component(registry, name) -> Draft7Validator:
    return _validator_at(registry, f"/components/schemas/{name}")


def _walk(node, path=""):
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, f"{path}/{index}")


# ---------------------------------------------------------------- the meta-schema


def test_document_is_valid_openrpc_1_3(document, meta_validator):
    errors = sorted(meta_validator.iter_errors(document), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message[:300]}" for e in errors[:10])
    assert document["openrpc"] == "1.3.2"
    assert document["info"]["title"] == "rolloutd"
    assert document["info"]["version"] == "0.1.0"
    assert document["info"]["description"]


def test_validator_rejects_a_param_without_name(document, meta_validator):
    broken = copy.deepcopy(document)
    del broken["methods"][3]["params"][0]["name"]
    assert not meta_validator.is_valid(broken)


def test_validator_rejects_a_bad_param_structure(document, meta_validator):
    broken = copy.deepcopy(document)
    broken["methods"][0]["paramStructure"] = "by-keyword"
    assert not meta_validator.is_valid(broken)


def test_validator_rejects_a_bad_schema_type(document, meta_validator):
    broken = copy.deepcopy(document)
    broken["components"]["schemas"]["ObjectKey"]["type"] = "text"
    assert not meta_validator.is_valid(broken)


def test_validator_rejects_a_wrong_openrpc_version(document, meta_validator):
    broken = copy.deepcopy(document)
    broken["openrpc"] = "1.4.0"
    assert not meta_validator.is_valid(broken)


def test_file_is_ascii_and_two_space_indented():
    text = DOCUMENT.read_text(encoding="utf-8")
    assert text.isascii()
    canonical = json.dumps(json.loads(text), indent=2, ensure_ascii=True) + "\n"
    assert text == canonical, (
        "reformat with: python3 -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); "
        "open(p,\"w\").write(json.dumps(d, indent=2, ensure_ascii=True)+\"\\n\")' proto-json/rollout.openrpc.json"
    )


# ---------------------------------------------------------------- structure


def test_every_ref_resolves(document):
    refs = [(path, node["$ref"]) for path, node in _walk(document) if isinstance(node, dict) and "$ref" in node]
    assert refs
    for path, ref in refs:
        assert ref.startswith("#/"), f"{path}: the document must be self-contained, got {ref}"
        try:
            resolve_pointer(document, ref)
        except (KeyError, IndexError, ValueError):
            pytest.fail(f"{path}: $ref {ref} does not resolve")


def test_every_schema_is_valid_draft7(document):
    checked = 0
    schemas = list(document["components"]["schemas"].items())
    for method in document["methods"] + document["x-notifications"]:
        schemas += [(f"{method['name']} param {p['name']}", p["schema"]) for p in method["params"]]
        if "result" in method:
            schemas.append((f"{method['name']} result", method["result"]["schema"]))
    for label, schema in schemas:
        try:
            Draft7Validator.check_schema(schema)
        except Exception as error:  # noqa: BLE001 - report which schema failed
            pytest.fail(f"{label}: {error}")
        checked += 1
    assert checked > 100


def test_method_names_are_unique(document):
    names = [m["name"] for m in document["methods"]]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)


def test_every_spec_method_is_documented(document):
    assert [m["name"] for m in document["methods"]] == SPEC_METHODS
    assert documented_methods() == set(SPEC_METHODS)
    assert documented_methods(DOCUMENT) == set(SPEC_METHODS)


def test_every_method_is_by_name_with_described_params(document):
    for method in document["methods"]:
        assert method["paramStructure"] == "by-name", method["name"]
        assert method.get("description"), method["name"]
        names = [p["name"] for p in method["params"]]
        assert len(names) == len(set(names)), method["name"]
        for param in method["params"]:
            assert set(param) >= {"name", "required", "description", "schema"}, (method["name"], param)
        assert "result" in method and method["result"]["schema"], method["name"]


def test_generic_params(document):
    for method in document["methods"]:
        params = {p["name"]: p for p in method["params"]}
        assert params["timeoutMs"]["schema"] == {"$ref": "#/components/schemas/TimeoutMs"}, method["name"]
        assert params["timeoutMs"]["required"] is False
        assert ("progressToken" in params) == (method["name"] in PROGRESS_METHODS), method["name"]
    assert resolve_pointer(document, "#/components/schemas/TimeoutMs")["minimum"] == 1


def test_mutating_methods_take_idempotency_key_and_document_replayed(document):
    methods = _methods(document)
    for name in MUTATING:
        params = {p["name"]: p for p in methods[name]["params"]}
        assert params["idempotencyKey"]["schema"] == {"$ref": "#/components/schemas/IdempotencyKey"}, name
        result = methods[name]["result"]["schema"]
        if "$ref" in result:
            result = resolve_pointer(document, result["$ref"])
        assert result["properties"]["replayed"] == {"$ref": "#/components/schemas/Replayed"}, name
        assert "replayed" not in result["required"], name
    key = resolve_pointer(document, "#/components/schemas/IdempotencyKey")
    assert (key["minLength"], key["maxLength"], key["pattern"]) == (1, 255, "^[\\x20-\\x7E]+$")


def test_errors_are_components_matching_spec(document):
    components = document["components"]["errors"]
    for reason, (code, kind) in ERROR_TABLE.items():
        assert components[reason] == {"code": code, "message": reason, "data": {"kind": kind, "reason": reason}}
    for method in document["methods"]:
        refs = [e["$ref"] for e in method["errors"]]
        assert all(r.startswith("#/components/errors/") for r in refs), method["name"]
        assert len(refs) == len(set(refs)), method["name"]
        for generic in ("InvalidParams", "DeadlineExceeded"):
            assert f"#/components/errors/{generic}" in refs, (method["name"], generic)
    methods = _methods(document)
    assert "#/components/errors/ReadOnly" in [e["$ref"] for e in methods["secret.put"]["errors"]]
    assert "#/components/errors/TooLarge" in [e["$ref"] for e in methods["object.put"]["errors"]]
    for name in SPEC_METHODS:
        if name.startswith("rollout."):
            assert "#/components/errors/Unsupported" in [e["$ref"] for e in methods[name]["errors"]], name


def test_param_bounds(document, schema_registry):
    bounds = {
        ("object.list", "limit"): (0, 1, 1000, 1001),
        ("queue.receive", "max"): (0, 1, 10, 11),
        ("queue.receive", "waitSeconds"): (-1, 0, 20, 21),
    }
    for (method, param), (below, low, high, above) in bounds.items():
        validator = _param(document, schema_registry, method, param)
        assert validator.is_valid(low) and validator.is_valid(high), (method, param)
        assert not validator.is_valid(below) and not validator.is_valid(above), (method, param)
    key = _param(document, schema_registry, "object.put", "idempotencyKey")
    assert key.is_valid("deploy-2024-01-01 #1") and key.is_valid("x" * 255)
    assert not key.is_valid("") and not key.is_valid("x" * 256) and not key.is_valid("caf\u00e9")
    assert not key.is_valid("tab\there")
    timeout = _param(document, schema_registry, "sys.ping", "timeoutMs")
    assert timeout.is_valid(1) and not timeout.is_valid(0) and not timeout.is_valid(1.5)
    token = _param(document, schema_registry, "rollout.wait", "progressToken")
    assert token.is_valid("t1") and token.is_valid(7) and not token.is_valid(None)


def test_object_key_rules(document, schema_registry):
    key = _param(document, schema_registry, "object.get", "key")
    for good in ["a", "runs/2024/snapshot.tar", "a/.hidden", "a/..b", "x" * 1024, "caf\u00e9"]:
        assert key.is_valid(good), good
    for bad in ["", "/a", ".", "..", "../x", "a/./b", "a/..", "a\nb", "a\x7fb", "a\u0085b", "x" * 1025]:
        assert not key.is_valid(bad), repr(bad)
    prefix = _param(document, schema_registry, "object.list", "prefix")
    assert prefix.is_valid("") and prefix.is_valid("runs/")
    assert not prefix.is_valid("/runs") and not prefix.is_valid("../")


# ---------------------------------------------------------------- shapes from the SPEC

DEPLOYMENT = {
    "deploymentId": "d-1",
    "engine": "native",
    "function": "api",
    "alias": "live",
    "fromVersion": "7",
    "toVersion": "8",
    "strategy": {"type": "canary", "percent": 10, "intervalSeconds": 300},
    "status": "InProgress",
    "weight": 0.1,
    "nextStepAt": "2025-01-01T00:05:00Z",
    "startedAt": "2025-01-01T00:00:00Z",
    "rolledBack": False,
    "events": [{"at": "2025-01-01T00:00:00Z", "type": "DeploymentStart", "detail": "canary 10% for 300s"}],
}


def test_result_shapes(document, schema_registry):
    def valid(method, result):
        validator = _result(document, schema_registry, method)
        errors = list(validator.iter_errors(result))
        assert not errors, (method, [e.message for e in errors])

    def invalid(method, result):
        assert not _result(document, schema_registry, method).is_valid(result), (method, result)

    put = {"key": "a/b", "size": 3, "etag": "900150983cd24fb0d6963f7d28e17f72", "contentId": "0" * 64, "parts": 1}
    valid("object.put", put)
    valid("object.put", {**put, "replayed": True})
    invalid("object.put", {**put, "replayed": False})
    invalid("object.put", {k: v for k, v in put.items() if k != "contentId"})
    valid("object.get", {"key": "a", "size": 3, "etag": "e", "metadata": {}, "data": "YWJj"})
    valid("object.head", {"key": "a", "size": 3, "etag": "e", "contentId": "f" * 64, "metadata": {"k": "v"}})
    invalid("object.head", {"key": "a", "size": 3, "etag": "e", "metadata": {}, "data": "YWJj"})
    valid("object.delete", {"key": "a", "deleted": True})
    valid("object.list", {"objects": [{"key": "a", "size": 1, "etag": "e", "lastModified": "2025-01-01T00:00:00Z"}]})
    valid("sys.ping", {})
    invalid("sys.ping", {"pong": True})
    capability = {"ok": True}
    health = {
        "status": "ok",
        "version": "0.1.0",
        "provider": "local",
        "uptimeMs": 12,
        "capabilities": {c: capability for c in ["objectStore", "queue", "secrets", "compute", "rollout"]},
    }
    valid("sys.health", health)
    valid("sys.health", {**health, "credentials": {"source": "env", "expiresAt": "2025-01-01T00:00:00Z"}})
    valid("queue.send", {"messageId": "m1"})
    valid("queue.sendBatch", {"results": [{"messageId": "m1"}, {"error": {"code": -32016, "message": "TooLarge"}}]})
    message = {
        "messageId": "m1",
        "body": "hi",
        "attributes": {},
        "receipt": "r1",
        "receiveCount": 1,
        "sentAt": "2025-01-01T00:00:00Z",
    }
    valid("queue.receive", {"messages": [message]})
    valid("queue.ack", {})
    valid("queue.ackBatch", {"results": [{"receipt": "r1"}]})
    secret = {
        "name": "rollout/hf-token",
        "value": "s",
        "versionId": "v1",
        "versionStages": ["AWSCURRENT"],
        "cached": False,
        "ageMs": 0,
        "stale": False,
    }
    valid("secret.get", secret)
    invalid("secret.get", {**secret, "binary": "YWJj"})
    invalid("secret.put", {})
    valid("compute.hint", {"provider": "local", "source": "local", "cpus": 2, "memoryBytes": 4 << 30})
    valid(
        "rollout.plan",
        {"steps": [{"atSeconds": 0, "weight": 0.1}], "checks": [{"name": "alias", "ok": True, "detail": ""}], "estimatedSeconds": 300},
    )
    valid("rollout.start", {"deploymentId": "d-1", "status": "Created"})
    valid("rollout.start", {"deploymentId": "d-1", "status": "Created", "replayed": True})
    valid("rollout.get", DEPLOYMENT)
    valid("rollout.wait", {**DEPLOYMENT, "status": "Succeeded", "weight": 1, "completedAt": "2025-01-01T00:06:00Z"})
    valid("rollout.get", {**DEPLOYMENT, "status": "Failed", "rolledBack": True,
                          "error": {"code": "HOOK_EXECUTION_FAILURE", "message": "afterTraffic failed"}})  # fmt: skip
    invalid("rollout.get", {**DEPLOYMENT, "status": "Paused"})
    invalid("rollout.get", {**DEPLOYMENT, "weight": 10})
    invalid("rollout.get", {**DEPLOYMENT, "strategy": {"type": "canary"}})
    valid("rollout.list", {"deployments": [DEPLOYMENT]})


def test_error_data_and_notifications(document, schema_registry):
    error_data = _component(schema_registry, "ErrorData")
    assert error_data.is_valid({"kind": "recoverable", "reason": "Throttled", "retryAfterMs": 400,
                                "upstream": {"service": "s3", "code": "SlowDown", "httpStatus": 503, "requestId": "X"}})  # fmt: skip
    assert error_data.is_valid({"kind": "fatal", "reason": "Conflict", "activeDeploymentId": "d-1"})
    assert error_data.is_valid({"kind": "recoverable", "reason": "DeadlineExceeded", "deployment": DEPLOYMENT})
    assert not error_data.is_valid({"kind": "maybe", "reason": "NotFound"})
    assert not error_data.is_valid({"reason": "NotFound"})

    notifications = {n["name"]: n for n in document["x-notifications"]}
    assert set(notifications) == {"$/progress", "$/cancelRequest"}
    progress = _component(schema_registry, notifications["$/progress"]["paramsSchema"]["$ref"].rsplit("/", 1)[1])
    assert progress.is_valid({"progressToken": "t", "bytesDone": 10, "bytesTotal": 100})
    assert progress.is_valid({"progressToken": 3, "event": DEPLOYMENT["events"][0], "status": "InProgress", "weight": 0.1})
    assert not progress.is_valid({"progressToken": "t", "bytes_done": 10})
    assert not progress.is_valid({"bytesDone": 10, "bytesTotal": 100})
    cancel = _component(schema_registry, notifications["$/cancelRequest"]["paramsSchema"]["$ref"].rsplit("/", 1)[1])
    assert cancel.is_valid({"id": 1}) and cancel.is_valid({"id": "a"}) and cancel.is_valid({"id": None})
    assert not cancel.is_valid({}) and not cancel.is_valid({"id": [1]})
