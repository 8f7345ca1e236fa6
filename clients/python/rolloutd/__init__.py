"""Python client for rolloutd (JSON-RPC 2.0 over a Unix socket), standard library only.

    from rolloutd import Client, AsyncClient, NotFound, canary

    with Client() as client:                      # $ROLLOUT_SOCKET or .rollout/rollout.sock
        client.ping()

See README.md for the flows (upload_file, receive_with_auto_extend, wait_for_rollout).
"""
from ._api import TERMINAL_STATUSES, all_at_once, canary, linear
from ._protocol import default_socket_path, idempotency_key_for, new_idempotency_key
from .aio import AsyncClient, AsyncLease
from .client import Client, Lease
from .errors import (AccessDenied, ConfigInvalid, Conflict, ConnectionFailed, DeadlineExceeded, InProgress,
                     InternalError, InvalidParams, InvalidRequest, MethodNotFound, NotFound, ParseError,
                     PreconditionFailed, ReadOnly, RequestCancelled, RolloutError, RolloutFailed, Throttled,
                     TooLarge, Unavailable, Unsupported, error_from_response)

__version__ = "0.1.0"

__all__ = [
    "Client", "AsyncClient", "Lease", "AsyncLease",
    "new_idempotency_key", "idempotency_key_for", "default_socket_path",
    "canary", "linear", "all_at_once", "TERMINAL_STATUSES",
    "RolloutError", "ConnectionFailed", "RolloutFailed", "error_from_response",
    "ParseError", "InvalidRequest", "MethodNotFound", "InvalidParams", "InternalError", "RequestCancelled",
    "Throttled", "Unavailable", "DeadlineExceeded", "InProgress", "ConfigInvalid", "NotFound", "AccessDenied",
    "PreconditionFailed", "Conflict", "ReadOnly", "TooLarge", "Unsupported",
]
