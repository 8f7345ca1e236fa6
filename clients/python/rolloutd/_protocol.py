"""Wire details shared by the blocking and the asyncio client: framing, request building,
response routing, idempotency keys and the socket path default."""
from __future__ import annotations

import hashlib
import json
import os
import uuid
from typing import Any, Callable, Dict, Optional, Tuple

from .errors import ConnectionFailed, DeadlineExceeded, RolloutError, error_from_response

DEFAULT_SOCKET = ".rollout/rollout.sock"
PROGRESS = "$/progress"
CANCEL = "$/cancelRequest"
#: The client gives up on its own this long after ``timeout_ms`` if the daemon stays silent.
LOCAL_DEADLINE_GRACE_SECONDS = 5.0
#: Largest response line accepted (a base64 object body of 8 MiB is ~11 MiB of JSON).
DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024

ProgressCallback = Callable[[Dict[str, Any]], Any]


def default_socket_path() -> str:
    """``$ROLLOUT_SOCKET``, else ``.rollout/rollout.sock`` (relative to the working directory)."""
    return os.environ.get("ROLLOUT_SOCKET") or DEFAULT_SOCKET


def new_idempotency_key(prefix: str = "py") -> str:
    """A fresh random key (``prefix-<32 hex>``): one logical operation, retried safely."""
    return f"{prefix}-{uuid.uuid4().hex}"


def idempotency_key_for(*parts: Any, prefix: str = "ik") -> str:
    """A deterministic key from ``parts`` (strings, numbers, lists, dicts...): the same parts
    always give the same key, e.g. ``idempotency_key_for("deploy", stack, version)``, so a
    re-run of the same step after a crash replays instead of acting twice.

    The parts are serialised as canonical JSON (sorted keys; other objects via ``str``) and
    hashed with SHA-256, so the key is 64 hex characters after ``prefix-`` whatever the input.
    """
    if not parts:
        raise ValueError("idempotency_key_for needs at least one part")
    canonical = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return f"{prefix}-{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def encode(message: Dict[str, Any]) -> bytes:
    """One compact JSON text plus ``\\n`` (json.dumps never emits a raw newline)."""
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8") + b"\n"


def build_request(request_id: int, method: str, params: Optional[Dict[str, Any]], *,
                  timeout_ms: Optional[int], idempotency_key: Optional[str],
                  progress_token: Optional[str]) -> Tuple[Dict[str, Any], bytes]:
    if params is not None and not isinstance(params, dict):
        raise TypeError("params must be a dict (rolloutd takes params by name)")
    merged = {k: v for k, v in (params or {}).items() if v is not None}
    if timeout_ms is not None:
        merged["timeoutMs"] = timeout_ms
    if idempotency_key is not None:
        merged["idempotencyKey"] = idempotency_key
    if progress_token is not None:
        merged["progressToken"] = progress_token
    message: Dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if merged or params is not None:
        message["params"] = merged
    return message, encode(message)


def cancel_line(request_id: Any) -> bytes:
    return encode({"jsonrpc": "2.0", "method": CANCEL, "params": {"id": request_id}})


def notification_line(method: str, params: Optional[Dict[str, Any]]) -> bytes:
    message: Dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return encode(message)


def progress_token_for(request_id: int) -> str:
    return f"py-{request_id}"


def local_deadline_seconds(timeout_ms: Optional[int]) -> Optional[float]:
    if timeout_ms is None:
        return None
    return timeout_ms / 1000.0 + LOCAL_DEADLINE_GRACE_SECONDS


def local_deadline_error(method: str, timeout_ms: Optional[int]) -> DeadlineExceeded:
    err = DeadlineExceeded(f"no answer within timeoutMs={timeout_ms} (+{LOCAL_DEADLINE_GRACE_SECONDS:g} s grace); "
                           "the request was cancelled", -32003, {"kind": "recoverable", "reason": "DeadlineExceeded"},
                           method)
    err.local = True
    return err


def outcome(message: Dict[str, Any], method: str) -> Tuple[bool, Any]:
    """(True, result) or (False, exception) for a response message."""
    if "error" in message:
        return False, error_from_response(message["error"], method)
    return True, message.get("result")


def settle(kind: str, payload: Any, method: str) -> Any:
    """The end of a call, for both clients: a ``response`` gives its result or raises its error;
    anything else means the connection was lost after the request was sent."""
    if kind == "response":
        ok, value = outcome(payload, method)
        if ok:
            return value
        raise value
    raise ConnectionFailed(f"connection to rolloutd lost during {method}: {payload}", sent=True, method=method)


class Router:
    """Classifies incoming lines. Keeps the encoded size of each pending request so that an
    id-less ``TooLarge`` answer (the daemon cannot know the id of a line it discarded) is given to
    the request it belongs to: every pending line the daemon accepted is within its limit, so the
    largest pending line is the one it refused."""

    def __init__(self) -> None:
        self.sizes: Dict[int, int] = {}

    def add(self, request_id: int, size: int) -> None:
        self.sizes[request_id] = size

    def remove(self, request_id: Any) -> None:
        self.sizes.pop(request_id, None)

    def route(self, line: bytes) -> Tuple[str, Any, Any]:
        """Returns ("progress", token, params) | ("response", id, message) | ("ignore", None, None)."""
        line = line.strip()
        if not line:
            return "ignore", None, None
        try:
            message = json.loads(line)
        except ValueError:
            return "ignore", None, None
        if isinstance(message, list):  # we never send batches; nothing to match
            return "ignore", None, None
        if not isinstance(message, dict):
            return "ignore", None, None
        if "method" in message:
            if message.get("method") == PROGRESS and isinstance(message.get("params"), dict):
                return "progress", message["params"].get("progressToken"), message["params"]
            return "ignore", None, None
        request_id = message.get("id")
        if request_id is None:
            error = message.get("error") or {}
            reason = (error.get("data") or {}).get("reason") if isinstance(error, dict) else None
            if reason == "TooLarge" and self.sizes:
                request_id = max(self.sizes, key=lambda k: self.sizes[k])
            else:
                return "ignore", None, None
        return "response", request_id, message


def check_socket_path(path: str) -> str:
    path = os.fspath(path)
    if len(path.encode()) >= 108:
        raise RolloutError(f"socket path is {len(path.encode())} bytes; Unix sockets allow fewer than 108: {path}",
                           None, {"kind": "fatal", "reason": "ConfigInvalid"})
    return path
