"""asyncio client.

One connection per :class:`AsyncClient`; concurrent calls (``asyncio.gather``, tasks) are
multiplexed over it and matched by id, so a long poll never holds up a ping. A reader task
routes responses and ``$/progress`` notifications to the waiting call; progress callbacks run
in the caller's task (a callback may be a plain function or a coroutine function).

Cancelling a call (``task.cancel()``, ``asyncio.wait_for`` timing out, ...) sends
``$/cancelRequest`` for it; the daemon stops the work and its -32800 answer is dropped. A broken
connection fails the calls in flight with :class:`ConnectionFailed`; the next call reconnects.
The connection belongs to the event loop that opened it; used from another loop, the client
opens a new one.
"""
from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
from typing import Any, AsyncIterator, Callable, Dict, List, Optional

from . import _protocol as proto
from ._api import FAILED_STATUSES, Methods, raise_for_batch, unsettled
from .errors import ConnectionFailed, RolloutError, RolloutFailed

__all__ = ["AsyncClient", "AsyncLease"]

log = logging.getLogger("rolloutd")


class _AsyncConnection:
    def __init__(self, path: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.path = path
        self.reader = reader
        self.writer = writer
        self.loop = asyncio.get_running_loop()
        self.pending: Dict[Any, "asyncio.Queue[tuple]"] = {}
        self.tokens: Dict[str, Any] = {}
        self.router = proto.Router()
        self.closed = False
        self.close_reason = ""
        self.drain_lock = asyncio.Lock()
        self.task = self.loop.create_task(self._read_loop())

    @classmethod
    async def open(cls, path: str, connect_timeout: Optional[float], max_line_bytes: int) -> "_AsyncConnection":
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path, limit=max_line_bytes),
                                                    connect_timeout)
        except (OSError, asyncio.TimeoutError) as e:
            raise ConnectionFailed(f"cannot connect to rolloutd at {path}: {e or type(e).__name__}") from e
        return cls(path, reader, writer)

    def register(self, request_id: int, token: Optional[str], size: int) -> "asyncio.Queue[tuple]":
        if self.closed:
            raise ConnectionFailed(f"connection to {self.path} is closed: {self.close_reason}")
        q: "asyncio.Queue[tuple]" = asyncio.Queue()
        self.pending[request_id] = q
        self.router.add(request_id, size)
        if token is not None:
            self.tokens[token] = request_id
        return q

    def unregister(self, request_id: int, token: Optional[str]) -> bool:
        self.router.remove(request_id)
        if token is not None:
            self.tokens.pop(token, None)
        return self.pending.pop(request_id, None) is not None

    async def send(self, line: bytes) -> None:
        if self.closed or self.writer.is_closing():
            raise ConnectionResetError(f"connection closed: {self.close_reason}")
        self.writer.write(line)  # a whole line goes into the buffer at once: lines never interleave
        async with self.drain_lock:
            await self.writer.drain()

    def send_cancel(self, request_id: int) -> None:
        """Synchronous on purpose: usable while the calling task is being cancelled."""
        if not self.closed and not self.writer.is_closing():
            try:
                self.writer.write(proto.cancel_line(request_id))
            except (OSError, RuntimeError):
                pass

    async def _read_loop(self) -> None:
        reason = "closed by the daemon"
        try:
            while True:
                line = await self.reader.readline()
                if not line:
                    break
                self._dispatch(line)
                if not line.endswith(b"\n"):
                    break
        except asyncio.CancelledError:
            reason = "closed by the client"
        except (OSError, ValueError) as e:  # ValueError: a line over the limit
            reason = str(e) or type(e).__name__
        finally:
            self._fail_all(reason)

    def _dispatch(self, line: bytes) -> None:
        kind, key, payload = self.router.route(line)
        if kind == "progress":
            q = self.pending.get(self.tokens.get(key))
            if q is not None:
                q.put_nowait(("progress", payload))
        elif kind == "response":
            q = self.pending.pop(key, None)
            self.router.remove(key)
            if q is not None:
                q.put_nowait(("response", payload))
            else:
                log.debug("rolloutd: answer for a request nobody waits for (cancelled?): %s", key)

    def _fail_all(self, reason: str) -> None:
        if not self.closed:
            self.closed, self.close_reason = True, reason
        waiting = list(self.pending.values())
        self.pending.clear()
        self.tokens.clear()
        for q in waiting:
            q.put_nowait(("lost", reason))
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass

    async def close(self) -> None:
        if not self.closed:
            self.closed, self.close_reason = True, "closed by the client"
        try:
            self.writer.close()
        except (OSError, RuntimeError):
            pass
        if asyncio.get_running_loop() is self.loop:
            try:
                await asyncio.wait_for(asyncio.shield(self.task), 5)
            except (asyncio.TimeoutError, asyncio.CancelledError, Exception):
                self.task.cancel()


class AsyncClient(Methods):
    """asyncio rolloutd client with the same methods as :class:`rolloutd.Client` (each returns an
    awaitable). ``socket_path``: default ``$ROLLOUT_SOCKET``, else ``.rollout/rollout.sock``.

    ::

        async with AsyncClient() as client:
            pong, health = await asyncio.gather(client.ping(), client.health())
    """

    def __init__(self, socket_path: Optional[str] = None, *, connect_timeout: Optional[float] = 5.0,
                 max_line_bytes: int = proto.DEFAULT_MAX_LINE_BYTES):
        self.socket_path = proto.check_socket_path(socket_path or proto.default_socket_path())
        self.connect_timeout = connect_timeout
        self.max_line_bytes = max_line_bytes
        self._ids = itertools.count(1)
        self._conn: Optional[_AsyncConnection] = None
        self._lock: Optional[asyncio.Lock] = None
        self._lock_loop: Optional[asyncio.AbstractEventLoop] = None

    async def connect(self) -> "AsyncClient":
        await self._connection()
        return self

    async def aclose(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    close = aclose

    async def __aenter__(self) -> "AsyncClient":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()

    @property
    def inflight(self) -> int:
        return len(self._conn.pending) if self._conn is not None and not self._conn.closed else 0

    async def _connection(self) -> _AsyncConnection:
        loop = asyncio.get_running_loop()
        conn = self._conn
        if conn is not None and not conn.closed and conn.loop is loop:
            return conn
        if self._lock is None or self._lock_loop is not loop:
            self._lock, self._lock_loop = asyncio.Lock(), loop
        async with self._lock:  # concurrent first calls share one connection
            conn = self._conn
            if conn is not None and not conn.closed and conn.loop is loop:
                return conn
            if conn is not None and conn.loop is not loop and not conn.closed:
                # Opened on another loop that is still around: close it there, best effort.
                conn.closed, conn.close_reason = True, "used from another event loop"
                try:
                    conn.loop.call_soon_threadsafe(conn.writer.close)
                except RuntimeError:  # that loop is closed: its transport went with it
                    pass
            self._conn = None
            self._conn = await _AsyncConnection.open(self.socket_path, self.connect_timeout, self.max_line_bytes)
            return self._conn

    async def call(self, method: str, params: Optional[Dict[str, Any]] = None, *, timeout_ms: Optional[int] = None,
                   idempotency_key: Optional[str] = None,
                   progress: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Any:
        """Sends one request and returns its ``result``, or raises the typed :class:`RolloutError`.
        See :meth:`rolloutd.Client.call`; cancelling the awaiting task sends ``$/cancelRequest``."""
        request_id = next(self._ids)
        token = proto.progress_token_for(request_id) if progress is not None else None
        _, line = proto.build_request(request_id, method, params, timeout_ms=timeout_ms,
                                      idempotency_key=idempotency_key, progress_token=token)
        conn, q = await self._send(method, request_id, token, line)
        limit = proto.local_deadline_seconds(timeout_ms)
        deadline = None if limit is None else conn.loop.time() + limit
        try:
            while True:
                if deadline is None:
                    kind, payload = await q.get()
                else:
                    try:
                        kind, payload = await asyncio.wait_for(q.get(), max(0.0, deadline - conn.loop.time()))
                    except asyncio.TimeoutError:
                        raise proto.local_deadline_error(method, timeout_ms) from None
                if kind != "progress":
                    return proto.settle(kind, payload, method)
                outcome = progress(payload)  # type: ignore[misc]
                if inspect.isawaitable(outcome):
                    await outcome
        except BaseException:
            if conn.unregister(request_id, token):
                conn.send_cancel(request_id)
            raise

    async def _send(self, method: str, request_id: int, token: Optional[str], line: bytes) -> Any:
        """Registers and writes the request; a connection found closed (the daemon closed it, so it
        cannot have read the line) is replaced once."""
        for attempt in (1, 2):
            conn = await self._connection()
            try:
                q = conn.register(request_id, token, len(line))
            except ConnectionFailed:
                if attempt == 1:
                    continue
                raise
            try:
                await conn.send(line)
                return conn, q
            except (OSError, RuntimeError) as e:
                conn.unregister(request_id, token)
                await conn.close()
                if attempt == 1 and isinstance(e, (BrokenPipeError, ConnectionResetError)):
                    continue
                raise ConnectionFailed(f"sending {method} failed: {e}", sent=True, method=method) from e
            except BaseException:
                if conn.unregister(request_id, token):
                    conn.send_cancel(request_id)
                raise
        raise AssertionError("unreachable")

    async def notify(self, method: str, params: Optional[Dict[str, Any]] = None) -> None:
        conn = await self._connection()
        try:
            await conn.send(proto.notification_line(method, params))
        except (OSError, RuntimeError) as e:
            await conn.close()
            raise ConnectionFailed(f"sending {method} failed: {e}", sent=True, method=method) from e

    async def _invoke_async(self, method: str, params: Optional[Dict[str, Any]], post: Any,
                            **options: Any) -> Any:
        result = await self.call(method, params, **options)
        return post(result) if post is not None else result

    def _invoke(self, method: str, params: Optional[Dict[str, Any]], *, post: Any = None,
                timeout_ms: Optional[int] = None, idempotency_key: Optional[str] = None,
                progress: Optional[Callable[[Dict[str, Any]], Any]] = None) -> Any:
        return self._invoke_async(method, params, post, timeout_ms=timeout_ms, idempotency_key=idempotency_key,
                                  progress=progress)

    # -- flows --------------------------------------------------------------------------

    async def iter_objects(self, prefix: Optional[str] = None, *,
                           page_size: Optional[int] = None) -> AsyncIterator[Dict[str, Any]]:
        cursor = None
        while True:
            page = await self.object_list(prefix, cursor=cursor, limit=page_size)
            for item in page.get("objects", []):
                yield item
            cursor = page.get("cursor")
            if not cursor:
                return

    def receive_with_auto_extend(self, max: int = 1, *, wait_seconds: Optional[float] = 20,
                                 visibility_seconds: Optional[int] = None,
                                 nack_delay_seconds: int = 0) -> "AsyncLease":
        """``async with client.receive_with_auto_extend(...) as lease: for m in lease: ...`` — acked
        when the block exits normally, nacked when it raises (or is cancelled)."""
        return AsyncLease(self, max=max, wait_seconds=wait_seconds, visibility_seconds=visibility_seconds,
                          nack_delay_seconds=nack_delay_seconds)

    async def wait_for_rollout(self, deployment_id: str, *,
                               progress: Optional[Callable[[Dict[str, Any]], Any]] = None,
                               timeout_seconds: Optional[float] = None, reconnect_attempts: int = 3) -> Dict[str, Any]:
        """See :meth:`rolloutd.Client.wait_for_rollout`."""
        failures = 0
        while True:
            try:
                deployment = await self.rollout_wait(deployment_id, timeout_seconds=timeout_seconds,
                                                     progress=progress)
                break
            except ConnectionFailed:
                failures += 1
                if failures > reconnect_attempts:
                    raise
                await asyncio.sleep(min(0.25 * 2 ** failures, 5.0))
        if deployment.get("status") in FAILED_STATUSES:
            raise RolloutFailed(deployment)
        return deployment


class AsyncLease:
    """Async counterpart of :class:`rolloutd.client.Lease`."""

    def __init__(self, client: AsyncClient, *, max: int, wait_seconds: Optional[float],
                 visibility_seconds: Optional[int], nack_delay_seconds: int):
        self.client = client
        self._receive: Dict[str, Any] = dict(max=max, wait_seconds=wait_seconds,
                                             visibility_seconds=visibility_seconds)
        self.nack_delay_seconds = nack_delay_seconds
        self.messages: List[Dict[str, Any]] = []
        self.settled: "set[str]" = set()

    async def __aenter__(self) -> "AsyncLease":
        result = await self.client.queue_receive(auto_extend=True, **self._receive)
        self.messages = list(result.get("messages", []))
        return self

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    async def ack(self, message: Dict[str, Any]) -> None:
        await self.client.queue_ack(message["receipt"])
        self.settled.add(message["receipt"])

    async def nack(self, message: Dict[str, Any], delay_seconds: Optional[int] = None) -> None:
        await self.client.queue_nack(message["receipt"], delay_seconds=delay_seconds)
        self.settled.add(message["receipt"])

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        left = unsettled(self.messages, self.settled)
        if exc_type is None:
            if left:
                raise_for_batch(await self.client.queue_ack_batch([m["receipt"] for m in left]), "queue.ackBatch")
                self.settled.update(m["receipt"] for m in left)
            return
        for message in left:
            try:
                await self.nack(message, self.nack_delay_seconds or None)
            except (RolloutError, asyncio.CancelledError) as e:
                log.warning("rolloutd: nack of %s failed: %s", message.get("messageId"), e)
