"""Typed exceptions for rolloutd errors (SPEC §3 and §3.1).

Every error the daemon answers becomes a :class:`RolloutError` (or a subclass chosen by
``data.reason``, falling back to the JSON-RPC ``code``). Unknown codes and reasons still
give the base class, so ``except RolloutError`` always catches them.
"""
from __future__ import annotations

from typing import Any, Dict, Optional, Type

__all__ = [
    "RolloutError",
    # transport (raised by the client itself, never sent by the daemon)
    "ConnectionFailed",
    # JSON-RPC standard codes
    "ParseError",
    "InvalidRequest",
    "MethodNotFound",
    "InvalidParams",
    "InternalError",
    "RequestCancelled",
    # rolloutd domain codes (SPEC §3.1)
    "Throttled",
    "Unavailable",
    "DeadlineExceeded",
    "InProgress",
    "ConfigInvalid",
    "NotFound",
    "AccessDenied",
    "PreconditionFailed",
    "Conflict",
    "ReadOnly",
    "TooLarge",
    "Unsupported",
    # client-side flow helpers
    "RolloutFailed",
    "error_from_response",
]


class RolloutError(Exception):
    """An error answered by rolloutd (or raised by this client on its behalf).

    Attributes:
        code: the JSON-RPC error code (``None`` for client-side errors without one).
        message: the daemon's message.
        data: the raw ``error.data`` object (``{}`` when absent).
        kind: ``"recoverable"`` (retrying later may succeed) or ``"fatal"``.
        reason: e.g. ``"NotFound"``; the SPEC §3.1 name.
        retry_after_ms: backoff hint sent with ``Throttled``, else ``None``.
        upstream: ``{service, code, httpStatus, requestId}`` when AWS answered, else ``None``.
        method: the method that failed, when known.
    """

    #: reason/kind used when the daemon does not send ``data.reason``/``data.kind``.
    default_reason: Optional[str] = None
    default_kind: Optional[str] = None

    def __init__(self, message: str, code: Optional[int] = None, data: Optional[Dict[str, Any]] = None,
                 method: Optional[str] = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.data: Dict[str, Any] = dict(data) if isinstance(data, dict) else {}
        self.method = method

    @property
    def kind(self) -> Optional[str]:
        return self.data.get("kind", self.default_kind)

    @property
    def reason(self) -> Optional[str]:
        return self.data.get("reason", self.default_reason)

    @property
    def retry_after_ms(self) -> Optional[int]:
        return self.data.get("retryAfterMs")

    @property
    def upstream(self) -> Optional[Dict[str, Any]]:
        return self.data.get("upstream")

    @property
    def recoverable(self) -> bool:
        """True when ``kind == "recoverable"``: the same call may succeed later."""
        return self.kind == "recoverable"

    def __str__(self) -> str:
        parts = [self.message]
        tags = [t for t in (self.reason, None if self.code is None else str(self.code)) if t]
        if tags:
            parts.append(f"[{' '.join(tags)}]")
        if self.method:
            parts.insert(0, f"{self.method}:")
        return " ".join(parts)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, reason={self.reason!r}, kind={self.kind!r}, "
                f"message={self.message!r})")


class ConnectionFailed(RolloutError):
    """The socket could not be reached, or broke before the answer arrived.

    ``sent`` tells whether the request had been written: when it had, the daemon may have
    executed it (use an idempotency key before retrying a mutating call). The next call on the
    same client opens a new connection.
    """

    default_reason = "ConnectionFailed"
    default_kind = "recoverable"

    def __init__(self, message: str, *, sent: bool = False, method: Optional[str] = None):
        super().__init__(message, None, None, method)
        self.sent = sent


# --- JSON-RPC standard codes -------------------------------------------------------------

class ParseError(RolloutError):
    default_reason, default_kind = "ParseError", "fatal"


class InvalidRequest(RolloutError):
    default_reason, default_kind = "InvalidRequest", "fatal"


class MethodNotFound(RolloutError):
    default_reason, default_kind = "MethodNotFound", "fatal"


class InvalidParams(RolloutError):
    default_reason, default_kind = "InvalidParams", "fatal"


class InternalError(RolloutError):
    default_reason, default_kind = "InternalError", "recoverable"


class RequestCancelled(RolloutError):
    default_reason, default_kind = "RequestCancelled", "recoverable"


# --- SPEC §3.1 domain codes --------------------------------------------------------------

class Throttled(RolloutError):
    default_reason, default_kind = "Throttled", "recoverable"


class Unavailable(RolloutError):
    default_reason, default_kind = "Unavailable", "recoverable"


class DeadlineExceeded(RolloutError):
    """``timeoutMs`` or a wait limit expired. ``rollout.wait`` puts the current deployment in
    ``data.deployment`` (see :attr:`deployment`). ``local`` is True when the client gave up on
    its own (the daemon did not answer within ``timeout_ms`` plus a grace period)."""

    default_reason, default_kind = "DeadlineExceeded", "recoverable"
    local = False

    @property
    def deployment(self) -> Optional[Dict[str, Any]]:
        return self.data.get("deployment")


class InProgress(RolloutError):
    default_reason, default_kind = "InProgress", "recoverable"


class ConfigInvalid(RolloutError):
    default_reason, default_kind = "ConfigInvalid", "fatal"


class NotFound(RolloutError):
    default_reason, default_kind = "NotFound", "fatal"


class AccessDenied(RolloutError):
    default_reason, default_kind = "AccessDenied", "fatal"


class PreconditionFailed(RolloutError):
    default_reason, default_kind = "PreconditionFailed", "fatal"


class Conflict(RolloutError):
    default_reason, default_kind = "Conflict", "fatal"

    @property
    def active_deployment_id(self) -> Optional[str]:
        return self.data.get("activeDeploymentId")


class ReadOnly(RolloutError):
    default_reason, default_kind = "ReadOnly", "fatal"


class TooLarge(RolloutError):
    default_reason, default_kind = "TooLarge", "fatal"


class Unsupported(RolloutError):
    default_reason, default_kind = "Unsupported", "fatal"


class RolloutFailed(RolloutError):
    """Raised by ``wait_for_rollout`` when the deployment ended ``Failed`` or ``Stopped``.

    ``deployment`` is the terminal Deployment dict; ``status`` its status and ``error_code``
    its ``error.code`` (``HOOK_EXECUTION_FAILURE``, ``ALARM_ACTIVE``, ``MANUAL_STOP``, ...).
    """

    default_kind = "fatal"

    def __init__(self, deployment: Dict[str, Any]):
        error = deployment.get("error") or {}
        self.deployment = deployment
        self.status: str = deployment.get("status", "")
        self.error_code: Optional[str] = error.get("code")
        self.deployment_id: Optional[str] = deployment.get("deploymentId")
        message = (f"deployment {self.deployment_id} ended {self.status}"
                   + (f": {self.error_code}" if self.error_code else "")
                   + (f" ({error['message']})" if error.get("message") else ""))
        super().__init__(message, None, {"kind": "fatal", "reason": self.error_code or self.status},
                         "rollout.wait")


_BY_CODE: Dict[int, Type[RolloutError]] = {
    -32700: ParseError,
    -32600: InvalidRequest,
    -32601: MethodNotFound,
    -32602: InvalidParams,
    -32603: InternalError,
    -32800: RequestCancelled,
    -32001: Throttled,
    -32002: Unavailable,
    -32003: DeadlineExceeded,
    -32004: InProgress,
    -32010: ConfigInvalid,
    -32011: NotFound,
    -32012: AccessDenied,
    -32013: PreconditionFailed,
    -32014: Conflict,
    -32015: ReadOnly,
    -32016: TooLarge,
    -32017: Unsupported,
}

_BY_REASON: Dict[str, Type[RolloutError]] = {
    cls.default_reason: cls for cls in _BY_CODE.values() if cls.default_reason is not None}


def error_class(code: Any, reason: Any) -> Type[RolloutError]:
    """The exception class for an error: by ``data.reason`` first (it is the more specific:
    an over-long line answers -32600 with reason ``TooLarge``), then by code, else the base."""
    if isinstance(reason, str) and reason in _BY_REASON:
        return _BY_REASON[reason]
    if isinstance(code, int) and code in _BY_CODE:
        return _BY_CODE[code]
    return RolloutError


def error_from_response(error: Any, method: Optional[str] = None) -> RolloutError:
    """Builds the exception for a JSON-RPC ``error`` member."""
    if not isinstance(error, dict):
        return RolloutError(f"malformed error object: {error!r}", None, None, method)
    code = error.get("code")
    raw_data = error.get("data")
    data: Dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    cls = error_class(code, data.get("reason"))
    return cls(str(error.get("message", "")), code if isinstance(code, int) else None, data, method)
