"""Blocking client.

Concurrency model: one Unix-socket connection per :class:`Client`, shared by every thread.
A background *reader thread* owns the receiving side and routes each response by id (and each
``$/progress`` notification by progressToken) to the queue of the call waiting for it; writes
go through one lock so that every request is one whole line. Any number of threads can have
calls in flight at once; responses may come back in any order. Progress callbacks run on the
thread that made the call (not on the reader thread), so they may call the client themselves.

A broken connection fails the calls in flight with :class:`ConnectionFailed` (``sent=True``);
the next call opens a new connection.
"""
from __future__ import annotations

import itertools
import logging
import queue
import socket
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

from . import _protocol as proto
from ._api import FAILED_STATUSES, Methods, raise_for_batch, unsettled
from .errors import ConnectionFailed, RolloutError, RolloutFailed

__all__ = ["Client", "Lease"]

log = logging.getLogger("rolloutd")


class _Connection:
    def __init__(self, path: str, connect_timeout: Optional[float], max_line_bytes: int):
        self.path = path
        self.max_line_bytes = max_line_bytes
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(connect_timeout)
            sock.connect(path)
            sock.settimeout(None)
        except OSError as e:
            sock.close()
            raise ConnectionFailed(f"cannot connect to rolloutd at {path}: {e}") from e
        self.sock = sock
        self.lock = threading.Lock()        # pending/tokens/router/closed
        self.write_lock = threading.Lock()  # one whole line at a time
        self.pending: Dict[Any, "queue.Queue[tuple]"] = {}
        self.tokens: Dict[str, Any] = {}
        self.router = proto.Router()
        self.closed = False
        self.close_reason = ""
        self.reader = threading.Thread(target=self._read_loop, name=f"rolloutd-reader {path}", daemon=True)
        self.reader.start()

    # -- pending calls -------------------------------------------------------------------

    def register(self, request_id: int, token: Optional[str], size: int) -> "queue.Queue[tuple]":
        q: "queue.Queue[tuple]" = queue.Queue()
        with self.lock:
            if self.closed:
                raise ConnectionFailed(f"connection to {self.path} is closed: {self.close_reason}")
            self.pending[request_id] = q
            self.router.add(request_id, size)
            if token is not None:
                self.tokens[token] = request_id
        return q

    def unregister(self, request_id: int, token: Optional[str]) -> bool:
        """Forgets a call; True when it was still waiting for its answer."""
        with self.lock:
            self.router.remove(request_id)
            if token is not None:
                self.tokens.pop(token, None)
            return self.pending.pop(request_id, None) is not None

    def inflight(self) -> int:
        with self.lock:
            return len(self.pending)

    # -- writing ------------------------------------------------------------------------

    def send(self, line: bytes) -> None:
        with self.write_lock:
            self.sock.sendall(line)

    def send_cancel(self, request_id: int) -> None:
        try:
            self.send(proto.cancel_line(request_id))
        except OSError:
            pass  # the connection is gone, and with it the request

    # -- reading ------------------------------------------------------------------------

    def _read_loop(self) -> None:
        buf = bytearray()
        scanned = 0
        reason = "closed by the daemon"
        try:
            while True:
                chunk = self.sock.recv(1 << 20)
                if not chunk:
                    if buf.strip():
                        self._dispatch(bytes(buf))
                    break
                buf += chunk
                while True:
                    nl = buf.find(b"\n", scanned)
                    if nl < 0:
                        scanned = len(buf)
                        if scanned > self.max_line_bytes:
                            raise ValueError(f"a response line exceeds {self.max_line_bytes} bytes")
                        break
                    line = bytes(buf[:nl])
                    del buf[:nl + 1]
                    scanned = 0
                    self._dispatch(line)
        except (OSError, ValueError) as e:
            reason = str(e) or type(e).__name__
        finally:
            self._fail_all(reason)

    def _dispatch(self, line: bytes) -> None:
        kind, key, payload = self.router.route(line)
        with self.lock:
            if kind == "progress":
                request_id = self.tokens.get(key)
                q = self.pending.get(request_id)
                if q is not None:
                    q.put(("progress", payload))
            elif kind == "response":
                q = self.pending.pop(key, None)
                self.router.remove(key)
                if q is not None:
                    q.put(("response", payload))
                else:
                    log.debug("rolloutd: answer for a request nobody waits for (cancelled?): %s", key)

    def _fail_all(self, reason: str) -> None:
        with self.lock:
            if not self.closed:
                self.closed, self.close_reason = True, reason
            waiting = list(self.pending.values())
            self.pending.clear()
            self.tokens.clear()
        for q in waiting:
            q.put(("lost", reason))
        try:
            self.sock.close()
        except OSError:
            pass

    def close(self) -> None:
        with self.lock:
            if not self.closed:
                self.closed, self.close_reason = True, "closed by the client"
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if threading.current_thread() is not self.reader:
            self.reader.join(timeout=5)


class Client(Methods):
    """Blocking rolloutd client, safe to share between threads (see the module docstring).

    ``socket_path``: default ``$ROLLOUT_SOCKET``, else ``.rollout/rollout.sock``. The connection
    is opened on the first call (or by :meth:`connect`) and re-opened after it breaks.
    """

    def __init__(self, socket_path: Optional[str] = None, *, connect_timeout: Optional[float] = 5.0,
                 max_line_bytes: int = proto.DEFAULT_MAX_LINE_BYTES):
        self.socket_path = proto.check_socket_path(socket_path or proto.default_socket_path())
        self.connect_timeout = connect_timeout
        self.max_line_bytes = max_line_bytes
        self._ids = itertools.count(1)
        self._conn: Optional[_Connection] = None
        self._conn_lock = threading.Lock()
        self._closed = False

    # -- lifecycle ----------------------------------------------------------------------

    def connect(self) -> "Client":
        """Opens the connection now (otherwise the first call does); raises ConnectionFailed."""
        self._connection()
        return self

    def close(self) -> None:
        """Closes the connection; calls in flight fail with ConnectionFailed. A later call reconnects."""
        with self._conn_lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _connection(self) -> _Connection:
        with self._conn_lock:
            if self._conn is None or self._conn.closed:
                self._conn = _Connection(self.socket_path, self.connect_timeout, self.max_line_bytes)
            return self._conn

    @property
    def inflight(self) -> int:
        """Calls waiting for their answer on the current connection."""
        conn = self._conn
        return conn.inflight() if conn is not None else 0

    # -- calls --------------------------------------------------------------------------

    def call(self, method: str, params: Optional[Dict[str, Any]] = None, *, timeout_ms: Optional[int] = None,
             idempotency_key: Optional[str] = None,
             progress: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Any:
        """Sends one request and returns its ``result``, or raises the typed :class:`RolloutError`.

        ``timeout_ms`` is sent as ``timeoutMs`` (the daemon answers DeadlineExceeded); the client
        itself gives up 5 s later if nothing came, and cancels the request. ``progress`` receives
        each ``$/progress`` params dict (the client picks the progressToken); an exception raised
        by it cancels the request and propagates. Interrupting the wait (KeyboardInterrupt)
        sends ``$/cancelRequest`` too.
        """
        request_id = next(self._ids)
        token = proto.progress_token_for(request_id) if progress is not None else None
        _, line = proto.build_request(request_id, method, params, timeout_ms=timeout_ms,
                                      idempotency_key=idempotency_key, progress_token=token)
        conn, q = self._send(method, request_id, token, line)
        limit = proto.local_deadline_seconds(timeout_ms)
        deadline = None if limit is None else time.monotonic() + limit
        try:
            while True:
                wait = None if deadline is None else max(0.0, deadline - time.monotonic())
                try:
                    kind, payload = q.get(timeout=wait)
                except queue.Empty:
                    raise proto.local_deadline_error(method, timeout_ms) from None
                if kind != "progress":
                    return proto.settle(kind, payload, method)
                progress(payload)  # type: ignore[misc]
        except BaseException:
            if conn.unregister(request_id, token):
                conn.send_cancel(request_id)
            raise

    def _send(self, method: str, request_id: int, token: Optional[str], line: bytes) -> Any:
        """Registers and writes the request. A connection found dead at this point (the daemon
        closed it: restart, shutdown) cannot have read the line, so it is sent once more on a new
        connection."""
        for attempt in (1, 2):
            conn = self._connection()
            try:
                q = conn.register(request_id, token, len(line))
            except ConnectionFailed:
                if attempt == 1:
                    continue
                raise
            try:
                conn.send(line)
                return conn, q
            except OSError as e:
                conn.unregister(request_id, token)
                conn.close()
                if attempt == 1 and isinstance(e, (BrokenPipeError, ConnectionResetError)):
                    continue
                raise ConnectionFailed(f"sending {method} failed: {e}", sent=True, method=method) from e
        raise AssertionError("unreachable")

    def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        """Sends a notification (no id, never answered)."""
        conn = self._connection()
        try:
            conn.send(proto.notification_line(method, params))
        except OSError as e:
            conn.close()
            raise ConnectionFailed(f"sending {method} failed: {e}", sent=True, method=method) from e

    def _invoke(self, method: str, params: Optional[Dict[str, Any]], *, post: Any = None,
                timeout_ms: Optional[int] = None, idempotency_key: Optional[str] = None,
                progress: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Any:
        result = self.call(method, params, timeout_ms=timeout_ms, idempotency_key=idempotency_key,
                           progress=progress)
        return post(result) if post is not None else result

    # -- flows --------------------------------------------------------------------------

    def iter_objects(self, prefix: Optional[str] = None, *, page_size: Optional[int] = None) -> Iterator[Dict[str, Any]]:
        """Every object under ``prefix``, following the list cursor."""
        cursor = None
        while True:
            page = self.object_list(prefix, cursor=cursor, limit=page_size)
            yield from page.get("objects", [])
            cursor = page.get("cursor")
            if not cursor:
                return

    def receive_with_auto_extend(self, max: int = 1, *, wait_seconds: Optional[float] = 20,
                                 visibility_seconds: Optional[int] = None, nack_delay_seconds: int = 0) -> "Lease":
        """Receives with ``autoExtend`` (the daemon keeps the messages invisible while you work) and
        settles them when the block ends: acked when it exits normally, nacked (visible again after
        ``nack_delay_seconds``) when it raises. The exception is not swallowed::

            with client.receive_with_auto_extend(max=10, wait_seconds=20) as lease:
                for message in lease:      # possibly none: the long poll timed out
                    handle(message["body"])
        """
        return Lease(self, max=max, wait_seconds=wait_seconds, visibility_seconds=visibility_seconds,
                     nack_delay_seconds=nack_delay_seconds)

    def wait_for_rollout(self, deployment_id: str, *, progress: Optional[Callable[[Dict[str, Any]], Any]] = None,
                         timeout_seconds: Optional[float] = None, reconnect_attempts: int = 3) -> Dict[str, Any]:
        """Waits for the deployment to finish, streaming each rollout event to ``progress``.
        Returns the Deployment when it Succeeded; raises :class:`RolloutFailed` (``.deployment``,
        ``.error_code``) when it ended Failed or Stopped, and DeadlineExceeded (``.deployment``)
        when ``timeout_seconds`` passed first. A lost connection (daemon restart) is retried up to
        ``reconnect_attempts`` times; events may then be delivered again."""
        failures = 0
        while True:
            try:
                deployment = self.rollout_wait(deployment_id, timeout_seconds=timeout_seconds, progress=progress)
                break
            except ConnectionFailed:
                failures += 1
                if failures > reconnect_attempts:
                    raise
                time.sleep(min(0.25 * 2 ** failures, 5.0))
        if deployment.get("status") in FAILED_STATUSES:
            raise RolloutFailed(deployment)
        return deployment


class Lease:
    """Messages received with ``autoExtend``; see :meth:`Client.receive_with_auto_extend`.
    Iterate it for the messages; :meth:`ack`/:meth:`nack` settle one early (it is then skipped
    at exit)."""

    def __init__(self, client: Client, *, max: int, wait_seconds: Optional[float],
                 visibility_seconds: Optional[int], nack_delay_seconds: int):
        self.client = client
        self._receive: Dict[str, Any] = dict(max=max, wait_seconds=wait_seconds,
                                             visibility_seconds=visibility_seconds)
        self.nack_delay_seconds = nack_delay_seconds
        self.messages: List[Dict[str, Any]] = []
        self.settled: "set[str]" = set()

    def __enter__(self) -> "Lease":
        result = self.client.queue_receive(auto_extend=True, **self._receive)
        self.messages = list(result.get("messages", []))
        return self

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def ack(self, message: Dict[str, Any]) -> None:
        self.client.queue_ack(message["receipt"])
        self.settled.add(message["receipt"])

    def nack(self, message: Dict[str, Any], delay_seconds: Optional[int] = None) -> None:
        self.client.queue_nack(message["receipt"], delay_seconds=delay_seconds)
        self.settled.add(message["receipt"])

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        left = unsettled(self.messages, self.settled)
        if exc_type is None:
            if left:
                raise_for_batch(self.client.queue_ack_batch([m["receipt"] for m in left]), "queue.ackBatch")
                self.settled.update(m["receipt"] for m in left)
            return
        for message in left:
            try:
                self.nack(message, self.nack_delay_seconds or None)
            except RolloutError as e:  # the original exception matters more; the lease lapses anyway
                log.warning("rolloutd: nack of %s failed: %s", message.get("messageId"), e)
