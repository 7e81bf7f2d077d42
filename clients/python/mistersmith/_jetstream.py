"""The JetStream requests the client makes, each one message whatever the queue depth (as
transport/stream_reader.cpp and transport/publisher.cpp): direct get of a subject's last
message or of the next one from a sequence, get and delete by sequence, purge of a subject,
consumer and stream info, and publishing with the stream's ack. NATS failures become the
errors of mistersmith.errors."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nats.errors
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg

from ._subjects import Names
from ._wire import parse_rfc3339
from .errors import InvalidTask, MisterSmithError, OutcomeUnknown, Unavailable

_API = "$JS.API"
NO_MESSAGE = 10037  # JSNoMessageFoundErr
DELETE_FAILED = 10057  # JSStreamMsgDeleteFailedF: also what a missing message gets
STREAM_NOT_FOUND = 10059
CONSUMER_NOT_FOUND = 10014


class JetStreamError(MisterSmithError):
    """JetStream answered a request with an error (``code`` is its HTTP-like status,
    ``err_code`` the JetStream error code)."""

    def __init__(self, what: str, code: int, err_code: int, description: str) -> None:
        super().__init__(f"{what}: {description} (JetStream error {err_code}, status {code})")
        self.code = code
        self.err_code = err_code
        self.description = description


@dataclass
class Stored:
    """A message as its stream stores it."""

    subject: str
    data: bytes
    seq: int
    time: datetime | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def header(self, key: str) -> str | None:
        wanted = key.lower()
        return next((v for k, v in self.headers.items() if str(k).lower() == wanted), None)


@dataclass(frozen=True)
class PubAck:
    stream: str
    seq: int
    duplicate: bool


class Link:
    """One NATS connection with the names of one deployment and a timeout for every request."""

    def __init__(self, nc: NATS, names: Names, timeout: float) -> None:
        self.nc = nc
        self.names = names
        self.timeout = timeout

    def require_connected(self) -> None:
        """Unavailable unless connected: nothing may wait in nats-py's reconnect buffer to go
        out once NATS is back, after the caller was told it failed."""
        if not self.nc.is_connected:
            raise Unavailable(
                "NATS is unreachable, so nothing was sent. Hint: retry when NATS is back"
            )

    async def request(self, subject: str, body: bytes, what: str,
                      headers: Mapping[str, str] | None = None) -> Msg:
        self.require_connected()
        try:
            return await self.nc.request(
                subject, body, timeout=self.timeout, headers=dict(headers) if headers else None
            )
        except nats.errors.NoRespondersError:
            raise Unavailable(
                f"{what}: nothing answers on {subject}. Hint: is JetStream enabled, and the "
                "topology applied (smith topology apply)?"
            ) from None
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            raise Unavailable(f"{what}: NATS did not answer within {self.timeout:g} s") from None
        except nats.errors.MaxPayloadError as err:
            raise InvalidTask("payload", f"{what}: {err}") from None
        except nats.errors.Error as err:
            raise Unavailable(f"{what}: {err or type(err).__name__}") from None

    async def api(self, subject: str, request: Mapping[str, Any] | None, what: str
                  ) -> dict[str, Any]:
        """A JetStream API call: its JSON answer, or JetStreamError."""
        body = json.dumps(request).encode() if request is not None else b""
        reply = await self.request(f"{_API}.{subject}", body, what)
        try:
            doc = json.loads(reply.data)
        except ValueError:
            raise MisterSmithError(
                f"{what}: the answer is not JSON: {reply.data[:200]!r}") from None
        if not isinstance(doc, dict):
            raise MisterSmithError(f"{what}: the answer is not a JSON object")
        err = doc.get("error")
        if isinstance(err, dict):
            raise JetStreamError(what, int(err.get("code", 0)), int(err.get("err_code", 0)),
                                 str(err.get("description", "")))
        return doc

    # -- reads ---------------------------------------------------------------------------------

    async def _direct(self, subject: str, request: Mapping[str, Any] | None, what: str
                      ) -> Stored | None:
        body = json.dumps(request).encode() if request is not None else b""
        reply = await self.request(subject, body, what)
        headers = {str(k): str(v) for k, v in (reply.headers or {}).items()}
        status = headers.get("Status")
        if status == "404":
            return None
        if status:
            detail = headers.get("Description", "")
            if status == "408":
                raise Unavailable(f"{what}: status 408 {detail}")
            raise JetStreamError(what, int(status) if status.isdigit() else 0, 0, detail)
        seq = headers.get("Nats-Sequence", "0")
        stamp = headers.get("Nats-Time-Stamp")
        return Stored(
            subject=headers.get("Nats-Subject", ""), data=bytes(reply.data),
            seq=int(seq) if seq.isdigit() else 0,
            time=parse_rfc3339(stamp) if stamp else None, headers=headers,
        )

    async def last(self, stream: str, subject: str) -> Stored | None:
        """The last message on ``subject`` (wildcards allowed), by direct get."""
        what = f"last message of {subject} in {stream}"
        if "*" in subject or ">" in subject:
            return await self._direct(f"{_API}.DIRECT.GET.{stream}", {"last_by_subj": subject},
                                      what)
        # The subject in the API subject, not in a JSON body: a NATS user can then be allowed
        # to read only some subjects.
        return await self._direct(f"{_API}.DIRECT.GET.{stream}.{subject}", None, what)

    async def next(self, stream: str, start: int, filter_subject: str) -> Stored | None:
        """The first message at ``start`` or later on ``filter_subject``, by direct get."""
        return await self._direct(
            f"{_API}.DIRECT.GET.{stream}", {"seq": max(start, 1), "next_by_subj": filter_subject},
            f"next message of {filter_subject} in {stream} from {start}",
        )

    async def at(self, stream: str, seq: int) -> Stored | None:
        """The message at ``seq`` (through the stream leader)."""
        what = f"message {seq} of {stream}"
        try:
            doc = await self.api(f"STREAM.MSG.GET.{stream}", {"seq": seq}, what)
        except JetStreamError as err:
            if err.err_code == NO_MESSAGE:
                return None
            raise
        msg = doc.get("message") or {}
        stamp = msg.get("time")
        return Stored(
            subject=str(msg.get("subject", "")), data=base64.b64decode(msg.get("data") or ""),
            seq=int(msg.get("seq", seq)),
            time=parse_rfc3339(stamp) if isinstance(stamp, str) else None,
        )

    async def delete(self, stream: str, seq: int) -> bool:
        """Deletes the message at ``seq``; False when it was not there (already gone)."""
        what = f"delete message {seq} of {stream}"
        try:
            await self.api(f"STREAM.MSG.DELETE.{stream}", {"seq": seq}, what)
            return True
        except JetStreamError as err:
            if err.err_code == NO_MESSAGE:
                return False
            # A missing message is reported as a failed delete: a second look tells.
            if err.err_code == DELETE_FAILED and await self.at(stream, seq) is None:
                return False
            raise

    async def purge(self, stream: str, subject: str) -> None:
        await self.api(f"STREAM.PURGE.{stream}", {"filter": subject},
                       f"purge {subject} from {stream}")

    async def delivered_seq(self, role: str) -> int | None:
        """The stream sequence the role's consumer has delivered up to; None without one."""
        what = f"consumer {Names.consumer(role)}"
        try:
            doc = await self.api(
                f"CONSUMER.INFO.{self.names.tasks_stream}.{Names.consumer(role)}", None, what
            )
        except JetStreamError as err:
            if err.err_code == CONSUMER_NOT_FOUND:
                return None
            raise
        delivered = doc.get("delivered") or {}
        return int(delivered.get("stream_seq", 0))

    async def stream_config(self, stream: str) -> dict[str, Any] | None:
        try:
            doc = await self.api(f"STREAM.INFO.{stream}", None, f"stream {stream}")
        except JetStreamError as err:
            if err.err_code == STREAM_NOT_FOUND:
                return None
            raise
        config = doc.get("config")
        return config if isinstance(config, dict) else {}

    # -- writes --------------------------------------------------------------------------------

    async def publish(self, subject: str, body: bytes, headers: Mapping[str, str], *,
                      outcome_id: str, again: str, field_name: str = "payload") -> PubAck:
        """A JetStream publish, waiting for the stream's ack. Not connected: Unavailable and
        nothing sent. Sent and not confirmed: OutcomeUnknown naming ``outcome_id``. Refused
        by the stream as a bad message: InvalidTask on ``field_name``."""
        self.require_connected()
        what = f"publish to {subject}"
        try:
            reply = await self.nc.request(subject, body, timeout=self.timeout,
                                          headers=dict(headers))
        except nats.errors.NoRespondersError:
            raise Unavailable(
                f"{what}: no stream stores {subject}. Hint: apply the topology (smith topology "
                "apply) with this prefix"
            ) from None
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            raise OutcomeUnknown(
                outcome_id,
                f'"{outcome_id}" was sent, but NATS did not confirm it within '
                f"{self.timeout:g} s: it may or may not be stored. Hint: {again}",
            ) from None
        except nats.errors.MaxPayloadError as err:
            raise InvalidTask(field_name, f"the message is too large for NATS: {err}") from None
        except nats.errors.Error as err:
            raise Unavailable(f"{what}: {err or type(err).__name__}") from None
        try:
            doc = json.loads(reply.data)
        except ValueError:
            raise MisterSmithError(f"{what}: the ack is not JSON: {reply.data[:200]!r}") from None
        refused = doc.get("error") if isinstance(doc, dict) else None
        if isinstance(refused, dict):
            code, description = int(refused.get("code", 0)), str(refused.get("description", ""))
            if code == 400 or "exceeds maximum" in description:
                raise InvalidTask(field_name, f"the server refused it: {description}")
            if code == 503:
                raise Unavailable(f"{what}: {description}")
            raise JetStreamError(what, code, int(refused.get("err_code", 0)), description)
        if not isinstance(doc, dict) or "seq" not in doc:
            raise MisterSmithError(f"{what}: unexpected ack {reply.data[:200]!r}")
        return PubAck(str(doc.get("stream", "")), int(doc["seq"]), bool(doc.get("duplicate")))

    async def publish_core(self, subject: str, body: bytes, what: str) -> None:
        """A plain NATS publish, flushed: the server has it when this returns."""
        self.require_connected()
        try:
            await self.nc.publish(subject, body)
            await self.nc.flush(timeout=max(1, round(self.timeout)))
        except (nats.errors.TimeoutError, asyncio.TimeoutError):
            raise Unavailable(f"{what}: NATS did not answer within {self.timeout:g} s") from None
        except nats.errors.Error as err:
            raise Unavailable(f"{what}: {err or type(err).__name__}") from None
