"""The wire protocol between clients and the engine: envelope, message types, bodies, limits.

A message is a ZeroMQ multipart message ``[envelope, *buffers]``. ``envelope`` is one msgpack
map (see :class:`Envelope`); ``buffers`` are further frames, which the engine neither sends
nor reads today (small previews travel as msgpack ``bin`` values). ``docs/protocol.md`` is the
reference; the tests check that it names every type and error code defined here.

Pure Python 3.9+, depends on msgpack only: hosts import it.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Optional, Union, get_args, get_origin, get_type_hints

import msgpack

from ._version import PROTOCOL_VERSION
from .errors import (
    InvalidRequestError,
    MessageTooLargeError,
    ProtocolError,
    UnknownMessageTypeError,
    VersionMismatchError,
)
from .wire_shape import ShapeLimits, check_shape

#: The engine answers a larger message with ``message_too_large`` and keeps serving.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Beyond this ZeroMQ itself drops the peer (ZMQ_MAXMSGSIZE): no reply is possible.
TRANSPORT_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class MessageType(str, enum.Enum):
    """Every message type on the wire. Requests go client → engine; the rest engine → client."""

    # requests
    HELLO = "hello"
    HEARTBEAT = "heartbeat"
    SUBMIT = "submit"
    JOB_STATUS = "job_status"
    CANCEL = "cancel"
    LIST_JOBS = "list_jobs"
    WATCH = "watch"
    SHUTDOWN = "shutdown"
    # replies, one per request type
    HELLO_REPLY = "hello_reply"
    HEARTBEAT_REPLY = "heartbeat_reply"
    SUBMIT_REPLY = "submit_reply"
    JOB_STATUS_REPLY = "job_status_reply"
    CANCEL_REPLY = "cancel_reply"
    LIST_JOBS_REPLY = "list_jobs_reply"
    WATCH_REPLY = "watch_reply"
    SHUTDOWN_REPLY = "shutdown_reply"
    # events streamed about a job, and the error reply to any request
    PROGRESS = "progress"
    RESULT = "result"
    ERROR = "error"

    @property
    def reply(self) -> MessageType:
        return MessageType(self.value + "_reply")


class JobState(str, enum.Enum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def finished(self) -> bool:
        return self in (JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED)


# --- request bodies --------------------------------------------------------------------------
# One dataclass per request. Field types are checked by parse_body before anything runs.

@dataclass(frozen=True)
class Hello:
    client: str = "unknown"
    client_version: str = ""


@dataclass(frozen=True)
class Heartbeat:
    pass


@dataclass(frozen=True)
class Submit:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    # A detached job outlives its client; an attached one is cancelled once the client has been
    # silent for the engine's orphan timeout.
    detach: bool = False


@dataclass(frozen=True)
class JobStatus:
    job_id: str


@dataclass(frozen=True)
class Cancel:
    job_id: str


@dataclass(frozen=True)
class ListJobs:
    include_finished: bool = True


@dataclass(frozen=True)
class Watch:
    job_id: str


@dataclass(frozen=True)
class Shutdown:
    # Running jobs are cancelled; with wait=True the reply comes once they have stopped.
    wait: bool = True


REQUEST_BODIES: dict[MessageType, type] = {
    MessageType.HELLO: Hello,
    MessageType.HEARTBEAT: Heartbeat,
    MessageType.SUBMIT: Submit,
    MessageType.JOB_STATUS: JobStatus,
    MessageType.CANCEL: Cancel,
    MessageType.LIST_JOBS: ListJobs,
    MessageType.WATCH: Watch,
    MessageType.SHUTDOWN: Shutdown,
}

_NONE = type(None)
# ``int | None`` is a types.UnionType from Python 3.10 on; on 3.9 that spelling cannot occur.
_UNION_TYPES = tuple(t for t in (Union, getattr(types, "UnionType", None)) if t is not None)


def _wire_types(tp: Any) -> tuple[tuple[type, ...], bool]:
    """The Python types a wire value for annotation ``tp`` may have, and whether null is allowed.

    Read from the real type (``Dict[str, Any]`` and ``dict[str, Any]``, ``Optional[int]`` and
    ``int | None`` alike), never from the annotation's text.
    """
    if tp is Any:
        return (object,), False
    origin = get_origin(tp)
    if origin in _UNION_TYPES:
        kinds: tuple[type, ...] = ()
        for arg in get_args(tp):
            if arg is not _NONE:
                kinds += _wire_types(arg)[0]
        return kinds, _NONE in get_args(tp)
    base = origin or tp
    if base is float:
        return (int, float), False   # a whole number may arrive as a msgpack int
    return (base,), False


@functools.cache
def _field_types(cls: type) -> dict[str, tuple[tuple[type, ...], bool]]:
    hints = get_type_hints(cls)
    return {f.name: _wire_types(hints[f.name]) for f in dataclasses.fields(cls)}


def _type_name(kinds: tuple[type, ...], nullable: bool) -> str:
    names = [k.__name__ for k in kinds if not (k is int and float in kinds)]
    return " | ".join(names + (["null"] if nullable else []))


def parse_body(msg_type: MessageType, body: dict[str, Any]) -> Any:
    """Validate a request body against its dataclass; raise InvalidRequestError naming the field."""
    return parse_fields(REQUEST_BODIES[msg_type], body, msg_type.value)


def parse_fields(cls: type, body: dict[str, Any], what: str) -> Any:
    """Build dataclass ``cls`` from ``body``, checking each field against its type hint."""
    types_of = _field_types(cls)
    values = {}
    for f in dataclasses.fields(cls):
        if f.name not in body:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise InvalidRequestError(f"{what}: missing required field {f.name!r}",
                                          detail={"field": f.name})
            continue
        value = body[f.name]
        kinds, nullable = types_of[f.name]
        # bool is an int in Python; a bool where a number is wanted is still a wrong type.
        wrong = not (value is None and nullable) and (
            not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds))
        if wrong:
            raise InvalidRequestError(
                f"{what}: field {f.name!r} must be {_type_name(kinds, nullable)}, "
                f"got {type(value).__name__}", detail={"field": f.name})
        values[f.name] = value
    return cls(**values)


# --- the envelope ----------------------------------------------------------------------------

def new_id() -> str:
    return uuid.uuid4().hex


@dataclass(frozen=True)
class Envelope:
    """Frame 0 of every message.

    ``re`` is the id of the request a reply or event answers; ``token`` is required on
    requests and never sent by the engine. ``session`` names the client across reconnects:
    its jobs belong to the session, not to one connection (empty: the connection).
    """

    type: str
    body: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=new_id)
    re: Optional[str] = None
    token: str = ""
    protocol: tuple[int, int] = PROTOCOL_VERSION
    session: str = ""

    def to_map(self) -> dict[str, Any]:
        data: dict[str, Any] = {"protocol": list(self.protocol), "id": self.id,
                                "type": self.type, "body": self.body}
        if self.re is not None:
            data["re"] = self.re
        if self.token:
            data["token"] = self.token
        if self.session:
            data["session"] = self.session
        return data


def encode(envelope: Envelope, buffers: Sequence[bytes] = ()) -> list[bytes]:
    """Serialise a message into ZeroMQ frames."""
    return [msgpack.packb(envelope.to_map(), use_bin_type=True), *buffers]


def decode(frames: Sequence[bytes], max_bytes: int = MAX_MESSAGE_BYTES,
           limits: Optional[ShapeLimits] = None) -> tuple[Envelope, list[bytes]]:
    """Parse frames into an envelope and its buffers.

    Raises a :class:`ProtocolError` subclass that names what is wrong: size, encoding, shape or
    field types. Never anything else, whatever the bytes are. With ``limits`` (the engine
    passes :data:`REQUEST_LIMITS` for every request, before it has checked the token), the
    envelope's shape is checked first without building anything, so a hostile message costs
    bounded memory and time.
    """
    if not frames:
        raise ProtocolError("empty message")
    size = sum(len(f) for f in frames)
    if size > max_bytes:
        raise MessageTooLargeError(
            f"message of {size} bytes exceeds the limit of {max_bytes} bytes",
            detail={"size": size, "limit": max_bytes})
    if limits is not None:
        check_shape(bytes(frames[0]), limits)
    try:
        data = msgpack.unpackb(bytes(frames[0]), raw=False)
    except Exception as exc:  # msgpack raises several unrelated types on garbage
        raise ProtocolError(f"envelope is not valid msgpack: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"envelope must be a map, got {type(data).__name__}")

    version = data.get("protocol")
    if (not isinstance(version, (list, tuple)) or len(version) != 2
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in version)):
        raise InvalidRequestError("envelope field 'protocol' must be [major, minor]",
                                  detail={"field": "protocol"})
    for name, kind in (("id", str), ("type", str), ("body", dict)):
        if name not in data:
            raise InvalidRequestError(f"envelope is missing field {name!r}", detail={"field": name})
        if not isinstance(data[name], kind):
            raise InvalidRequestError(
                f"envelope field {name!r} must be {kind.__name__}, got {type(data[name]).__name__}",
                detail={"field": name})
    for name in ("re", "token", "session"):
        if name in data and not isinstance(data[name], str):
            raise InvalidRequestError(f"envelope field {name!r} must be str",
                                      detail={"field": name})
    envelope = Envelope(type=data["type"], body=data["body"], id=data["id"], re=data.get("re"),
                        token=data.get("token", ""), protocol=(version[0], version[1]),
                        session=data.get("session", ""))
    return envelope, [bytes(f) for f in frames[1:]]


def check_version(peer: tuple[int, int]) -> None:
    """Raise VersionMismatchError unless ``peer`` shares our major version."""
    if peer[0] != PROTOCOL_VERSION[0]:
        ours = "{}.{}".format(*PROTOCOL_VERSION)
        theirs = "{}.{}".format(*peer)
        raise VersionMismatchError(
            f"protocol {theirs} is incompatible with this engine's protocol {ours}; "
            f"update the client or the engine so their major versions match",
            detail={"engine": list(PROTOCOL_VERSION), "client": list(peer)})


def message_type(name: str) -> MessageType:
    try:
        return MessageType(name)
    except ValueError:
        raise UnknownMessageTypeError(f"unknown message type {name!r}",
                                      detail={"type": name}) from None
