"""The engine client every integration uses: connect, ask, submit, follow progress, cancel.

Small and blocking by design, with a timeout on every wait so it can never hang a host's UI
thread (call it from a worker thread in a UI all the same). One client per thread: ZeroMQ
sockets are not thread-safe. Depends on pyzmq, msgpack and the standard library only.

Every client has a session id, sent with each request: the engine ties attached jobs to the
session, so a reconnect (after any request that timed out) keeps them. While it waits, the
client checks that the engine's process still exists, so a dead engine is noticed in well
under a second or two whatever the timeout; a paused one (its process exists) is waited for.

    with EngineClient.connect() as client:
        job = client.submit("probe", {"input": "/shots/a.mov"})
        for event in job.events():
            print(event.type, event.body.get("fraction"))
        info = job.result()
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import zmq

from . import protocol as wire
from ._version import __version__
from .discovery import (
    LOCK_FILE_NAME,
    Discovery,
    engine_lock_held,
    lock_path,
    process_alive,
    read_discovery,
    read_lock_pid,
)
from .errors import (
    EngineNotRunningError,
    EngineTimeoutError,
    InvalidParamsError,
    InvalidRequestError,
    JobCancelledError,
    JobFailedError,
    MoviolaError,
    error_from_wire,
)
from .launch import start_engine
from .protocol import Envelope, JobState, MessageType, new_id

_EVENT_TYPES = (MessageType.PROGRESS.value, MessageType.RESULT.value)
# How often a wait looks whether the engine's process still exists.
LIVENESS_CHECK_S = 0.5


@dataclass(frozen=True)
class Event:
    """A progress update or the end of a job, as streamed by the engine."""

    type: str            # "progress" or "result"
    job_id: str
    body: dict[str, Any]

    @property
    def final(self) -> bool:
        return self.type == MessageType.RESULT.value


class EngineClient:
    """A connection to one engine (a ZeroMQ DEALER socket)."""

    def __init__(self, endpoint: str, token: str, *, timeout: float = 10.0, retries: int = 2,
                 pid: Optional[int] = None, client_name: str = "moviola-client",
                 context: Optional[zmq.Context] = None, server_key: str = "") -> None:
        self.endpoint = endpoint
        self.server_key = server_key  # set when the engine listens off loopback (CURVE)
        self.timeout = timeout
        self.retries = retries
        self.pid = pid
        self.client_name = client_name
        self._token = token
        self.session = new_id()  # outlives reconnects: the engine ties our jobs to it
        self._context = context or zmq.Context.instance()
        self._socket: Optional[zmq.Socket] = None
        self._generation = 0  # bumped on reconnect: job streams must re-watch
        self._replies: dict[str, Envelope] = {}
        self._awaited: set[str] = set()      # request ids whose replies are still wanted
        self._events: dict[str, collections.deque[Envelope]] = {}  # job streams followed, by request id
        self._last_sent = 0.0
        self._open()

    # --- connecting --------------------------------------------------------------------------

    @classmethod
    def connect(cls, *, autostart: bool = True, timeout: float = 10.0, start_timeout: float = 60.0,
                discovery_file: Optional[Path] = None, client_name: str = "moviola-client") -> EngineClient:
        """Connect through the discovery file; start an engine first if none answers.

        The discovery file is trusted only while the engine lock is held by its pid: a file
        left by a crashed engine, whose pid may now be another process, costs no wait.
        """
        found = read_discovery(discovery_file)
        if found is not None and not _published_by_live_engine(found, discovery_file):
            found = None
        if found is not None:
            client = cls.from_discovery(found, timeout=timeout, client_name=client_name)
            try:
                client.hello()
                return client
            except (EngineTimeoutError, EngineNotRunningError):
                client.close()
                if not autostart:
                    raise
        if not autostart:
            raise EngineNotRunningError(
                "no Moviola engine is running; start one with `moviola engine start`")
        found = start_engine(timeout=start_timeout, discovery_file=discovery_file)
        client = cls.from_discovery(found, timeout=timeout, client_name=client_name)
        deadline = time.monotonic() + start_timeout
        while True:  # the engine has bound; its first answer can still take a moment
            try:
                client.hello()
                return client
            except (EngineTimeoutError, EngineNotRunningError):
                if time.monotonic() > deadline:
                    client.close()
                    raise

    @classmethod
    def from_discovery(cls, found: Discovery, **kwargs: Any) -> EngineClient:
        return cls(found.endpoint, found.token, pid=found.pid, server_key=found.server_key,
                   **kwargs)

    def _open(self) -> None:
        sock = self._context.socket(zmq.DEALER)
        sock.setsockopt(zmq.LINGER, 0)  # closing never waits for an engine that is gone
        if self.server_key:  # encrypted to the engine's key; our own key pair is throwaway
            public, secret = zmq.curve_keypair()
            sock.curve_serverkey = self.server_key.encode("ascii")
            sock.curve_publickey = public
            sock.curve_secretkey = secret
        if "[" in self.endpoint:  # an IPv6 address, e.g. tcp://[::1]:5555
            sock.setsockopt(zmq.IPV6, 1)
        sock.connect(self.endpoint)
        self._socket = sock

    def _reconnect(self) -> None:
        # Lazy Pirate: a socket that timed out may hold a stale request; start afresh.
        if self._socket is not None:
            self._socket.close(linger=0)
        self._generation += 1
        self._open()

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close(linger=0)
            self._socket = None

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # --- messages ----------------------------------------------------------------------------

    def _send(self, msg_type: MessageType, body: dict[str, Any]) -> str:
        if self._socket is None:
            raise EngineNotRunningError("client is closed")
        envelope = Envelope(type=msg_type.value, body=body, token=self._token, session=self.session)
        try:
            frames = wire.encode(envelope)
        except UnicodeEncodeError:
            raise _unencodable_text_error(msg_type, body) from None
        self._awaited.add(envelope.id)
        if msg_type in (MessageType.SUBMIT, MessageType.WATCH):
            # Bounded: a stream nobody reads keeps its newest events, the final one included.
            self._events[envelope.id] = collections.deque(maxlen=1000)
        self._socket.send_multipart(frames)
        self._last_sent = time.monotonic()
        return envelope.id

    def _receive(self, timeout: float) -> bool:
        """Receive at most one message, filing it as a reply or as a job event."""
        assert self._socket is not None
        if not self._socket.poll(int(max(timeout, 0) * 1000), zmq.POLLIN):
            return False
        envelope, _ = wire.decode(self._socket.recv_multipart())
        wire.check_version(envelope.protocol)
        if envelope.re is None:
            raise error_from_wire(envelope.body) if envelope.type == "error" else MoviolaError(
                f"engine sent an unsolicited {envelope.type!r}")
        # Late answers to abandoned requests, and events of streams nobody follows, are
        # dropped: a long-lived client in a host must not accumulate them.
        if envelope.type in _EVENT_TYPES:
            stream = self._events.get(envelope.re)
            if stream is not None:
                stream.append(envelope)
        elif envelope.re in self._awaited:
            self._replies[envelope.re] = envelope
        return True

    def engine_alive(self) -> bool:
        """False once the engine's process is gone; True while it exists (paused or not)."""
        return self.pid is None or process_alive(self.pid)

    def _check_engine_alive(self) -> None:
        if not self.engine_alive():
            raise EngineNotRunningError(f"the engine (pid {self.pid}) is no longer running")

    def _receive_checked(self, timeout: float) -> bool:
        """:meth:`_receive`, looking every LIVENESS_CHECK_S whether the engine still exists."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._receive(min(left, LIVENESS_CHECK_S)):
                return True
            self._check_engine_alive()  # a dead engine never answers: say so now

    def _await_reply(self, request_id: str, timeout: float) -> Optional[Envelope]:
        deadline = time.monotonic() + timeout
        try:
            while request_id not in self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    self._events.pop(request_id, None)  # a stream that never started
                    return None
                self._receive_checked(left)
            reply = self._replies.pop(request_id)
            if reply.type == MessageType.ERROR.value:
                self._events.pop(request_id, None)
            return reply
        finally:
            self._awaited.discard(request_id)

    def request(self, msg_type: MessageType, body: Optional[dict[str, Any]] = None, *,
                timeout: Optional[float] = None, idempotent: bool = True) -> Envelope:
        """Send one request and return its reply; errors are raised as their typed class."""
        timeout = self.timeout if timeout is None else timeout
        attempts = 1 + (self.retries if idempotent else 0)
        for attempt in range(attempts):
            request_id = self._send(msg_type, body or {})
            reply = self._await_reply(request_id, timeout)
            if reply is not None:
                if reply.type == MessageType.ERROR.value:
                    raise error_from_wire(reply.body)
                return reply
            if attempt + 1 < attempts:
                self._reconnect()
        self._check_engine_alive()
        raise EngineTimeoutError(
            f"no answer to {msg_type.value!r} from {self.endpoint} within {timeout:g} s "
            f"({attempts} attempt{'s' if attempts > 1 else ''})")

    # --- the API -----------------------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """Engine capabilities: versions, devices, backends, models, job kinds, jobs active."""
        return self.request(MessageType.HELLO, {"client": self.client_name,
                                                "client_version": __version__}).body

    def heartbeat(self, timeout: Optional[float] = None) -> dict[str, Any]:
        return self.request(MessageType.HEARTBEAT, timeout=timeout).body

    def submit(self, kind: str, params: Optional[dict[str, Any]] = None, *,
               detach: bool = False) -> JobHandle:
        """Queue a job. Bad parameters raise here, before anything runs."""
        reply = self.request(MessageType.SUBMIT, {"kind": kind, "params": params or {},
                                                  "detach": detach}, idempotent=False)
        return JobHandle(self, reply.body["job_id"], kind, stream_id=reply.re or "")

    def job_status(self, job_id: str) -> dict[str, Any]:
        return self.request(MessageType.JOB_STATUS, {"job_id": job_id}).body

    def cancel(self, job_id: str) -> dict[str, Any]:
        return self.request(MessageType.CANCEL, {"job_id": job_id}).body

    def list_jobs(self, include_finished: bool = True) -> list[dict[str, Any]]:
        return self.request(MessageType.LIST_JOBS, {"include_finished": include_finished}).body["jobs"]

    def watch(self, job_id: str) -> JobHandle:
        """Follow a job another client submitted."""
        reply = self.request(MessageType.WATCH, {"job_id": job_id})
        return JobHandle(self, job_id, reply.body.get("kind", ""), stream_id=reply.re or "")

    def shutdown(self, wait: bool = True, timeout: float = 60.0) -> dict[str, Any]:
        """Stop the engine; running jobs are cancelled. With wait, returns once it has stopped."""
        return self.request(MessageType.SHUTDOWN, {"wait": wait}, timeout=timeout,
                             idempotent=False).body


class JobHandle:
    """A submitted or watched job: its events, its result, cancel."""

    def __init__(self, client: EngineClient, job_id: str, kind: str, stream_id: str) -> None:
        self.client = client
        self.job_id = job_id
        self.kind = kind
        self._stream_id = stream_id
        self._generation = client._generation
        self._final: Optional[Event] = None

    def events(self, *, heartbeat_interval: float = 2.0,
               idle_timeout: Optional[float] = None) -> Iterator[Event]:
        """Yield progress events, then the final ``result`` event.

        Between events the client sends heartbeats: they keep an attached job alive on the
        engine, and an engine that died raises EngineNotRunningError within a second or two.
        An engine that stops answering while its process exists (paused, overloaded) is
        waited for, reconnecting, so the job carries on when it resumes; ``idle_timeout``
        bounds the wait for the next event (EngineTimeoutError). Without a known pid (a
        client built from an endpoint alone) an unanswered heartbeat raises at once.
        """
        if self._final is not None:
            yield self._final
            return
        client = self.client
        last_event = time.monotonic()
        while True:
            if self._generation != client._generation or self._stream_id not in client._events:
                # Reconnected, or the stream was dropped: ask for it again. The engine also
                # re-points the old stream to our new connection; only one is kept.
                client._events.pop(self._stream_id, None)
                try:
                    self._stream_id = client.request(MessageType.WATCH, {"job_id": self.job_id}).re or ""
                except EngineTimeoutError:
                    self._wait_out_stall(last_event, idle_timeout)
                    continue
                self._generation = client._generation
            queue = client._events[self._stream_id]
            while queue:
                envelope = queue.popleft()
                event = Event(envelope.type, self.job_id, envelope.body)
                last_event = time.monotonic()
                if event.final:
                    self._final = event
                    client._events.pop(self._stream_id, None)
                    yield event
                    return
                yield event
            if idle_timeout is not None and time.monotonic() - last_event > idle_timeout:
                raise EngineTimeoutError(f"no event from job {self.job_id} for {idle_timeout:g} s")
            # Receiving proves nothing to the engine: only what we send keeps our job alive.
            quiet = not client._receive_checked(heartbeat_interval)
            if quiet or time.monotonic() - client._last_sent > heartbeat_interval:
                try:
                    client.heartbeat()  # raises EngineNotRunningError if the engine is gone
                except EngineTimeoutError:
                    self._wait_out_stall(last_event, idle_timeout)

    def _wait_out_stall(self, last_event: float, idle_timeout: Optional[float]) -> None:
        """An unanswered request while waiting: carry on if the engine's process exists."""
        client = self.client
        client._check_engine_alive()
        if client.pid is None:
            raise EngineTimeoutError(f"the engine at {client.endpoint} stopped answering")
        if idle_timeout is not None and time.monotonic() - last_event > idle_timeout:
            raise EngineTimeoutError(f"no event from job {self.job_id} for {idle_timeout:g} s")
        client._reconnect()  # a fresh connection for when it resumes; the session stays

    def wait(self, on_progress: Optional[Callable[[Event], None]] = None, **kwargs: Any) -> dict[str, Any]:
        """Block until the job ends; return its result or raise its typed error."""
        for event in self.events(**kwargs):
            if not event.final and on_progress is not None:
                on_progress(event)
        return self.result()

    def result(self) -> dict[str, Any]:
        """The result of a finished job (waits for it if needed)."""
        if self._final is None:
            return self.wait()
        body = self._final.body
        state = body.get("state")
        if state == JobState.SUCCEEDED.value:
            return body.get("result") or {}
        error = body.get("error") or {}
        if state == JobState.CANCELLED.value:
            raise JobCancelledError(error.get("message", "job was cancelled"), detail={"job_id": self.job_id})
        raise error_from_wire(error) if error else JobFailedError(f"job {self.job_id} failed")

    @property
    def state(self) -> str:
        if self._final is not None:
            return str(self._final.body.get("state"))
        return str(self.client.job_status(self.job_id)["state"])

    def cancel(self) -> dict[str, Any]:
        return self.client.cancel(self.job_id)


def _published_by_live_engine(found: Discovery, discovery_file: Optional[Path]) -> bool:
    """Whether ``found`` is the record of the engine that holds the lock now."""
    if not process_alive(found.pid):
        return False
    lock = (discovery_file.parent / LOCK_FILE_NAME) if discovery_file else lock_path()
    held = engine_lock_held(lock)
    if held is None:  # cannot tell here (Windows): trust a live pid
        return True
    return held and read_lock_pid(lock) in (None, found.pid)


def _unencodable_text_error(msg_type: MessageType, body: dict[str, Any]) -> MoviolaError:
    """The typed error for text that cannot travel as UTF-8, naming the field that holds it.

    File names that are not valid UTF-8 reach Python as strings with lone surrogates
    (``os.fsdecode``); msgpack cannot send them.
    """
    where = _find_unencodable(body) or ""
    shown = where or "the request"
    message = (f"{msg_type.value}: {shown} holds text that is not valid Unicode (a lone "
               "surrogate, as in a file name that is not UTF-8); rename the file or pass a "
               "valid path")
    if where.startswith("params."):
        return InvalidParamsError(message, detail={"param": where[len("params."):]})
    return InvalidRequestError(message, detail={"field": where})


def _find_unencodable(value: Any, where: str = "") -> Optional[str]:
    """Dotted name of the first string (or key) that UTF-8 cannot encode, or None."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return where or "value"
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            shown = str(key).encode("utf-8", "backslashreplace").decode("utf-8")
            name = f"{where}.{shown}" if where else shown
            found = _find_unencodable(key, name) or _find_unencodable(item, name)
            if found:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _find_unencodable(item, f"{where}[{i}]")
            if found:
                return found
    return None
