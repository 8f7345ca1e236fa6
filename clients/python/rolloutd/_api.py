"""Typed helpers for every SPEC §4 method, shared by :class:`rolloutd.Client` and
:class:`rolloutd.AsyncClient`.

Each helper builds the by-name params (snake_case arguments → camelCase members, ``None``
left out) and hands them to ``self._invoke``: the blocking client returns the result, the
asyncio client returns an awaitable of it. Results are the daemon's JSON objects as dicts.
"""
from __future__ import annotations

import base64
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from ._protocol import ProgressCallback
from .errors import error_from_response

Params = Dict[str, Any]

TERMINAL_STATUSES = ("Succeeded", "Failed", "Stopped")
FAILED_STATUSES = ("Failed", "Stopped")


def canary(percent: float, interval_seconds: int) -> Params:
    """``percent`` of traffic for ``interval_seconds``, then 100%."""
    return {"type": "canary", "percent": percent, "intervalSeconds": interval_seconds}


def linear(percent: float, interval_seconds: int) -> Params:
    """``+percent`` every ``interval_seconds`` until 100%."""
    return {"type": "linear", "percent": percent, "intervalSeconds": interval_seconds}


def all_at_once() -> Params:
    return {"type": "allAtOnce"}


def _drop_none(**members: Any) -> Params:
    return {k: v for k, v in members.items() if v is not None}


def _b64(data: Union[bytes, bytearray, memoryview]) -> str:
    return base64.b64encode(bytes(data)).decode("ascii")


def _decode_body(result: Params) -> bytes:
    return base64.b64decode(result.get("data") or "")


def _range(value: Union[None, Tuple[int, int], Sequence[int], Mapping[str, int]]) -> Optional[Params]:
    if value is None:
        return None
    if isinstance(value, Mapping):
        return dict(value)
    start, end = value
    return {"start": start, "end": end}


def _outgoing(message: Union[str, Mapping[str, Any]]) -> Params:
    if isinstance(message, str):
        return {"body": message}
    return dict(message)


def _rollout_params(function: str, alias: str, strategy: Mapping[str, Any], target_version: Optional[str],
                    publish: Optional[bool], hooks: Optional[Mapping[str, Any]], before_traffic_hook: Optional[str],
                    after_traffic_hook: Optional[str], hook_timeout_seconds: Optional[int],
                    alarms: Optional[Iterable[str]], notify_topic_arn: Optional[str], on_conflict: Optional[str],
                    engine: Optional[str]) -> Params:
    merged_hooks = dict(hooks or {})
    merged_hooks.update(_drop_none(beforeTraffic=before_traffic_hook, afterTraffic=after_traffic_hook,
                                   timeoutSeconds=hook_timeout_seconds))
    return _drop_none(function=function, alias=alias, targetVersion=target_version, publish=publish,
                      strategy=dict(strategy), hooks=merged_hooks or None,
                      alarms=list(alarms) if alarms is not None else None, notifyTopicArn=notify_topic_arn,
                      onConflict=on_conflict, engine=engine)


class Methods:
    """Mixin: subclasses provide ``_invoke(method, params, *, post=None, timeout_ms=None,
    idempotency_key=None, progress=None)``."""

    def _invoke(self, method: str, params: Optional[Params], *, post: Any = None, timeout_ms: Optional[int] = None,
                idempotency_key: Optional[str] = None, progress: Optional[ProgressCallback] = None) -> Any:
        raise NotImplementedError

    # --- §4.1 system ----------------------------------------------------------------------

    def discover(self, *, timeout_ms: Optional[int] = None) -> Any:
        """``rpc.discover``: the OpenRPC document."""
        return self._invoke("rpc.discover", None, timeout_ms=timeout_ms)

    def health(self, *, timeout_ms: Optional[int] = None) -> Any:
        """``sys.health`` → ``{status, version, provider, uptimeMs, capabilities, credentials?}``."""
        return self._invoke("sys.health", None, timeout_ms=timeout_ms)

    def ping(self, *, timeout_ms: Optional[int] = None) -> Any:
        """``sys.ping`` → ``{}``."""
        return self._invoke("sys.ping", None, timeout_ms=timeout_ms)

    # --- §4.2 objects ---------------------------------------------------------------------

    def object_put(self, key: str, data: Optional[bytes] = None, *, text: Optional[str] = None,
                   path: Optional[Union[str, "os.PathLike[str]"]] = None, content_type: Optional[str] = None,
                   metadata: Optional[Mapping[str, str]] = None, if_none_match: Optional[str] = None,
                   if_match: Optional[str] = None, idempotency_key: Optional[str] = None,
                   progress: Optional[ProgressCallback] = None, timeout_ms: Optional[int] = None) -> Any:
        """``object.put`` with exactly one of ``data`` (bytes), ``text`` or ``path`` (a file under the
        daemon's ``file_roots``, streamed by the daemon) → ``{key, size, etag, contentId, parts}``."""
        if sum(x is not None for x in (data, text, path)) != 1:
            raise ValueError("object_put takes exactly one of data, text or path")
        params = _drop_none(key=key, data=None if data is None else _b64(data), text=text,
                            path=None if path is None else os.path.abspath(os.fspath(path)),
                            contentType=content_type, metadata=None if metadata is None else dict(metadata),
                            ifNoneMatch=if_none_match, ifMatch=if_match)
        return self._invoke("object.put", params, idempotency_key=idempotency_key, progress=progress,
                            timeout_ms=timeout_ms)

    def upload_file(self, key: str, path: Union[str, "os.PathLike[str]"], *,
                    progress: Optional[ProgressCallback] = None, content_type: Optional[str] = None,
                    metadata: Optional[Mapping[str, str]] = None, if_none_match: Optional[str] = None,
                    if_match: Optional[str] = None, idempotency_key: Optional[str] = None,
                    timeout_ms: Optional[int] = None) -> Any:
        """Uploads a local file by path: the daemon streams it (multipart on S3) and the file never
        crosses the socket. ``path`` must lie under the daemon's ``[server].file_roots``.
        ``progress`` gets ``{progressToken, bytesDone, bytesTotal}`` dicts."""
        return self.object_put(key, path=path, progress=progress, content_type=content_type, metadata=metadata,
                               if_none_match=if_none_match, if_match=if_match, idempotency_key=idempotency_key,
                               timeout_ms=timeout_ms)

    def object_get(self, key: str, *, path: Optional[Union[str, "os.PathLike[str]"]] = None,
                   range: Optional[Union[Tuple[int, int], Mapping[str, int]]] = None, if_match: Optional[str] = None,
                   progress: Optional[ProgressCallback] = None, timeout_ms: Optional[int] = None) -> Any:
        """``object.get`` → ``{key, size, etag, contentId?, contentType?, metadata, data?}`` (``data`` is
        base64 when no ``path`` is given; see :meth:`object_get_bytes`)."""
        params = _drop_none(key=key, path=None if path is None else os.path.abspath(os.fspath(path)),
                            range=_range(range), ifMatch=if_match)
        return self._invoke("object.get", params, progress=progress, timeout_ms=timeout_ms)

    def object_get_bytes(self, key: str, *, range: Optional[Union[Tuple[int, int], Mapping[str, int]]] = None,
                         if_match: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """The object's body as bytes (bodies over 8 MiB are TooLarge: use :meth:`download_file`)."""
        params = _drop_none(key=key, range=_range(range), ifMatch=if_match)
        return self._invoke("object.get", params, post=_decode_body, timeout_ms=timeout_ms)

    def download_file(self, key: str, path: Union[str, "os.PathLike[str]"], *,
                      progress: Optional[ProgressCallback] = None, if_match: Optional[str] = None,
                      timeout_ms: Optional[int] = None) -> Any:
        """Streams the object into ``path`` (under ``file_roots``; written to a temp file and renamed)."""
        return self.object_get(key, path=path, if_match=if_match, progress=progress, timeout_ms=timeout_ms)

    def object_head(self, key: str, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("object.head", {"key": key}, timeout_ms=timeout_ms)

    def object_delete(self, key: str, *, idempotency_key: Optional[str] = None,
                      timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("object.delete", {"key": key}, idempotency_key=idempotency_key, timeout_ms=timeout_ms)

    def object_list(self, prefix: Optional[str] = None, *, cursor: Optional[str] = None, limit: Optional[int] = None,
                    timeout_ms: Optional[int] = None) -> Any:
        """One page: ``{objects: [{key, size, etag, lastModified}], cursor?}``."""
        return self._invoke("object.list", _drop_none(prefix=prefix, cursor=cursor, limit=limit),
                            timeout_ms=timeout_ms)

    # --- §4.3 queue -----------------------------------------------------------------------

    def queue_send(self, body: str, *, attributes: Optional[Mapping[str, str]] = None,
                   delay_seconds: Optional[int] = None, group_id: Optional[str] = None,
                   deduplication_id: Optional[str] = None, idempotency_key: Optional[str] = None,
                   timeout_ms: Optional[int] = None) -> Any:
        """``queue.send`` → ``{messageId}`` (plus ``replayed: true`` on an idempotent replay)."""
        params = _drop_none(body=body, attributes=None if attributes is None else dict(attributes),
                            delaySeconds=delay_seconds, groupId=group_id, deduplicationId=deduplication_id)
        return self._invoke("queue.send", params, idempotency_key=idempotency_key, timeout_ms=timeout_ms)

    def queue_send_batch(self, messages: Iterable[Union[str, Mapping[str, Any]]], *,
                         idempotency_key: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """``messages``: bodies (str) or ``{body, attributes?, delaySeconds?, groupId?, deduplicationId?}``
        → ``{results: [{messageId} | {error}]}`` in input order."""
        return self._invoke("queue.sendBatch", {"messages": [_outgoing(m) for m in messages]},
                            idempotency_key=idempotency_key, timeout_ms=timeout_ms)

    def queue_receive(self, max: Optional[int] = None, *, wait_seconds: Optional[float] = None,
                      visibility_seconds: Optional[int] = None, auto_extend: Optional[bool] = None,
                      timeout_ms: Optional[int] = None) -> Any:
        """``queue.receive`` → ``{messages: [{messageId, body, attributes, receipt, receiveCount, sentAt}]}``."""
        params = _drop_none(max=max, waitSeconds=wait_seconds, visibilitySeconds=visibility_seconds,
                            autoExtend=auto_extend)
        return self._invoke("queue.receive", params, timeout_ms=timeout_ms)

    def queue_ack(self, receipt: str, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("queue.ack", {"receipt": receipt}, timeout_ms=timeout_ms)

    def queue_ack_batch(self, receipts: Iterable[str], *, timeout_ms: Optional[int] = None) -> Any:
        """→ ``{results: [{receipt, error?}]}``."""
        return self._invoke("queue.ackBatch", {"receipts": list(receipts)}, timeout_ms=timeout_ms)

    def queue_nack(self, receipt: str, *, delay_seconds: Optional[int] = None,
                   timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("queue.nack", _drop_none(receipt=receipt, delaySeconds=delay_seconds),
                            timeout_ms=timeout_ms)

    def queue_extend(self, receipt: str, visibility_seconds: int, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("queue.extend", {"receipt": receipt, "visibilitySeconds": visibility_seconds},
                            timeout_ms=timeout_ms)

    # --- §4.4 secrets, §4.5 compute -------------------------------------------------------

    def secret_get(self, name: str, *, version_stage: Optional[str] = None, refresh: Optional[bool] = None,
                   timeout_ms: Optional[int] = None) -> Any:
        """``secret.get`` → ``{name, value?, binary?, versionId, versionStages, cached, ageMs, stale}``.
        A name outside the allowlist raises :class:`rolloutd.ConfigInvalid`."""
        return self._invoke("secret.get", _drop_none(name=name, versionStage=version_stage, refresh=refresh),
                            timeout_ms=timeout_ms)

    def compute_hint(self, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("compute.hint", None, timeout_ms=timeout_ms)

    # --- §4.6 rollouts --------------------------------------------------------------------

    def rollout_plan(self, function: str, alias: str, strategy: Mapping[str, Any], *,
                     target_version: Optional[str] = None, publish: Optional[bool] = None,
                     hooks: Optional[Mapping[str, Any]] = None, before_traffic_hook: Optional[str] = None,
                     after_traffic_hook: Optional[str] = None, hook_timeout_seconds: Optional[int] = None,
                     alarms: Optional[Iterable[str]] = None, notify_topic_arn: Optional[str] = None,
                     on_conflict: Optional[str] = None, engine: Optional[str] = None,
                     timeout_ms: Optional[int] = None) -> Any:
        """``rollout.plan`` (no side effects) → ``{steps, checks, estimatedSeconds}``."""
        params = _rollout_params(function, alias, strategy, target_version, publish, hooks, before_traffic_hook,
                                 after_traffic_hook, hook_timeout_seconds, alarms, notify_topic_arn, on_conflict,
                                 engine)
        return self._invoke("rollout.plan", params, timeout_ms=timeout_ms)

    def rollout_start(self, function: str, alias: str, strategy: Mapping[str, Any], *,
                      target_version: Optional[str] = None, publish: Optional[bool] = None,
                      hooks: Optional[Mapping[str, Any]] = None, before_traffic_hook: Optional[str] = None,
                      after_traffic_hook: Optional[str] = None, hook_timeout_seconds: Optional[int] = None,
                      alarms: Optional[Iterable[str]] = None, notify_topic_arn: Optional[str] = None,
                      on_conflict: Optional[str] = None, engine: Optional[str] = None,
                      idempotency_key: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """``rollout.start`` → ``{deploymentId, status}``. ``strategy``: :func:`canary`, :func:`linear`,
        :func:`all_at_once` or the raw dict. Hooks by ``hooks={...}`` or the ``*_hook`` arguments."""
        params = _rollout_params(function, alias, strategy, target_version, publish, hooks, before_traffic_hook,
                                 after_traffic_hook, hook_timeout_seconds, alarms, notify_topic_arn, on_conflict,
                                 engine)
        return self._invoke("rollout.start", params, idempotency_key=idempotency_key, timeout_ms=timeout_ms)

    def rollout_get(self, deployment_id: str, *, timeout_ms: Optional[int] = None) -> Any:
        """``rollout.get`` → the Deployment dict."""
        return self._invoke("rollout.get", {"deploymentId": deployment_id}, timeout_ms=timeout_ms)

    def rollout_wait(self, deployment_id: str, *, timeout_seconds: Optional[float] = None,
                     progress: Optional[ProgressCallback] = None, timeout_ms: Optional[int] = None) -> Any:
        """``rollout.wait`` → the terminal Deployment, whatever its status (see ``wait_for_rollout``).
        ``progress`` gets ``{progressToken, event, status, weight, nextStepAt?}`` per rollout event."""
        return self._invoke("rollout.wait", _drop_none(deploymentId=deployment_id, timeoutSeconds=timeout_seconds),
                            progress=progress, timeout_ms=timeout_ms)

    def rollout_stop(self, deployment_id: str, *, idempotency_key: Optional[str] = None,
                     timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("rollout.stop", {"deploymentId": deployment_id}, idempotency_key=idempotency_key,
                            timeout_ms=timeout_ms)

    def rollout_promote(self, deployment_id: str, *, idempotency_key: Optional[str] = None,
                        timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("rollout.promote", {"deploymentId": deployment_id}, idempotency_key=idempotency_key,
                            timeout_ms=timeout_ms)

    def rollout_pause(self, deployment_id: str, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("rollout.pause", {"deploymentId": deployment_id}, timeout_ms=timeout_ms)

    def rollout_resume(self, deployment_id: str, *, timeout_ms: Optional[int] = None) -> Any:
        return self._invoke("rollout.resume", {"deploymentId": deployment_id}, timeout_ms=timeout_ms)

    def rollout_list(self, *, function: Optional[str] = None, alias: Optional[str] = None,
                     status: Optional[str] = None, timeout_ms: Optional[int] = None) -> Any:
        """→ ``{deployments: [Deployment]}``, newest first."""
        return self._invoke("rollout.list", _drop_none(function=function, alias=alias, status=status),
                            timeout_ms=timeout_ms)

    def rollout_report_hook(self, deployment_id: str, hook: str, status: str, *, execution_id: Optional[str] = None,
                            timeout_ms: Optional[int] = None) -> Any:
        """``hook``: ``"beforeTraffic"|"afterTraffic"``; ``status``: ``"Succeeded"|"Failed"``."""
        params = _drop_none(deploymentId=deployment_id, hook=hook, status=status, executionId=execution_id)
        return self._invoke("rollout.reportHook", params, timeout_ms=timeout_ms)


def unsettled(messages: List[Params], settled: "set[str]") -> List[Params]:
    return [m for m in messages if m.get("receipt") not in settled]


def raise_for_batch(result: Params, method: str) -> Params:
    """Raises the first per-item error of a batch result (``queue.ackBatch``), typed like any
    other error; returns the result when every item succeeded."""
    for item in result.get("results", []):
        if isinstance(item, dict) and item.get("error"):
            raise error_from_response(item["error"], method)
    return result
