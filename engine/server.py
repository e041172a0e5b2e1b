"""The engine's ZeroMQ server: one ROUTER socket, one thread that only routes messages.

Requests are decoded, authenticated, validated and answered on this thread; jobs run on the
runner's pools and report back through an inproc PULL socket, so a long job never delays
``hello``, ``job_status`` or ``cancel`` from any client. A ``submit``'s parameters are typed
here, but its kind's ``check()`` (which may stat files or import a library) runs on a small
admission pool, whose verdict comes back through the same inproc socket: only then is the
submit answered, and the job queued. Every failure of a request becomes a typed ``error``
reply; nothing a client sends can stop the loop.
"""

from __future__ import annotations

import hmac
import logging
import os
import queue
import secrets
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable

import msgpack
import zmq

from moviola.plugin import protocol as wire
from moviola.plugin._version import PROTOCOL_VERSION, __version__
from moviola.plugin.discovery import Discovery, remove_discovery, write_discovery
from moviola.plugin.errors import (
    AuthenticationError,
    EngineShuttingDownError,
    InternalEngineError,
    MoviolaError,
    TooManyRequestsError,
    UnknownJobError,
)
from moviola.plugin.protocol import Envelope, MessageType
from moviola.plugin.wire_shape import REQUEST_LIMITS

from . import backends
from .config import Settings, config_path
from .engine_view import EngineView
from .gateway import GATEWAY_ENDPOINT, IDENTITY_PREFIX, Gateway, parse_origins
from .jobs import schema
from .jobs.base import JobKind
from .jobs.registry import JobRegistry
from .lanes import INTERACTIVE, LANES, lane_of
from .listen import Listener
from .models.offers import model_offers
from .models.registry import ModelRegistry
from .runner import Job, JobRunner

log = logging.getLogger(__name__)

EVENTS_ENDPOINT = "inproc://moviola-job-events"
POLL_INTERVAL_MS = 250
ORPHAN_CHECK_INTERVAL_S = 1.0
CLIENT_QUEUE_MESSAGES = 1000   # per client, each way (ZeroMQ high-water marks)
MAX_WATCHERS_PER_JOB = 64      # distinct clients following one job
# A loop turn this late means the process was paused (SIGSTOP, a debugger, a suspended
# laptop): the silence was the engine's, so clients are not charged for it.
PAUSE_CREDIT_AFTER_S = 2.0
MAX_SESSION_CHARS = 128
ADMISSION_THREADS = 2          # per lane: checks of batch submits never delay a frame fetch


@dataclass
class Admission:
    """A submit whose parameters are typed, waiting for (then carrying) its check's verdict."""

    identity: bytes               # the connection to answer
    client: bytes                 # the job's owner (see Engine._client_key)
    request_id: str
    detach: bool
    kind: JobKind
    params: Any                   # typed on the server thread; the kind's prepare() has the last word
    lane: str
    raw: dict[str, Any] = field(default_factory=dict)   # the parameters as sent
    prepared: Any = None          # what check() returned
    error: dict[str, Any] | None = None


class Engine:
    """Bind, publish the discovery file, serve until a ``shutdown`` request or :meth:`stop`."""

    def __init__(self, settings: Settings, registry: JobRegistry | None = None) -> None:
        self.settings = settings
        self.registry = registry or JobRegistry.default()
        # Read once: scanning entry points and describing schemas cost milliseconds, and
        # hello must stay cheap (it is every client's first call and the panel polls it).
        self.models = ModelRegistry.default()
        self.view = EngineView(settings, self.models)
        self._job_kinds = self.registry.describe()
        self.token = secrets.token_hex(32)
        self.started_at = time.time()
        self.endpoint = ""
        self.listener = Listener(settings.host, settings.port)
        self._ctx = zmq.Context()
        self._router = self._ctx.socket(zmq.ROUTER)
        self._router.setsockopt(zmq.LINGER, 0)
        self._router.setsockopt(zmq.MAXMSGSIZE, wire.TRANSPORT_MAX_MESSAGE_BYTES)
        # A client that vanished must not make the engine queue its events without bound.
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 0)
        # Per-client queues are bounded both ways: beyond these, a client that does not read
        # loses replies (dropped, never queued) and one that floods waits in its own pipe.
        self._router.setsockopt(zmq.SNDHWM, CLIENT_QUEUE_MESSAGES)
        self._router.setsockopt(zmq.RCVHWM, CLIENT_QUEUE_MESSAGES)
        self._events = self._ctx.socket(zmq.PULL)
        self._events.bind(EVENTS_ENDPOINT)
        # The WebSocket gateway's requests arrive here, already framed as ZeroMQ envelopes,
        # and take the same path as the router's; its own thread does the WebSocket work.
        self._gateway_pair = self._ctx.socket(zmq.PAIR)
        self._gateway_pair.setsockopt(zmq.LINGER, 0)
        self._gateway_pair.setsockopt(zmq.SNDHWM, CLIENT_QUEUE_MESSAGES)
        self._gateway_pair.bind(GATEWAY_ENDPOINT)
        self.gateway: Gateway | None = None
        self._local = threading.local()
        self._push_sockets: list[zmq.Socket] = []
        self._push_lock = threading.Lock()
        self._push_closed = False
        self.runner = JobRunner(settings.max_jobs, self._post_event, settings.finished_jobs_kept,
                                settings.interactive_jobs, engine=self.view)
        self._admission = {lane: ThreadPoolExecutor(ADMISSION_THREADS,
                                                    thread_name_prefix=f"moviola-admit-{lane}")
                           for lane in LANES}
        self._admitted: queue.SimpleQueue[Admission] = queue.SimpleQueue()
        # Keyed by client: its session (b"session:<id>") or, for clients that send none, its
        # ZeroMQ identity. _routes maps a session to the connection it last spoke on.
        self._last_seen: dict[bytes, float] = {}
        self._routes: dict[bytes, bytes] = {}
        self._stop = threading.Event()
        self._shutdown_waiters: list[tuple[bytes, str]] = []
        self._handlers: dict[MessageType, Callable[[bytes, Envelope, Any], dict[str, Any] | None]] = {
            MessageType.HELLO: self._hello,
            MessageType.HEARTBEAT: self._heartbeat,
            MessageType.SUBMIT: self._submit,
            MessageType.JOB_STATUS: self._job_status,
            MessageType.CANCEL: self._cancel,
            MessageType.LIST_JOBS: self._list_jobs,
            MessageType.WATCH: self._watch,
            MessageType.SHUTDOWN: self._shutdown,
        }

    # --- life cycle --------------------------------------------------------------------------

    def bind(self) -> str:
        self.endpoint = self.listener.bind(self._router)
        if self.settings.gateway and self.gateway is None:
            if self.listener.remote:  # the router is CURVE-protected; a WebSocket cannot be
                log.warning("the WebSocket gateway stays on 127.0.0.1: it has no encryption")
            gateway = Gateway(self._ctx, self.settings.gateway_port,
                              parse_origins(self.settings.gateway_origins))
            gateway.start()
            self.gateway = gateway
            log.info("WebSocket gateway on %s", gateway.url)
        return self.endpoint

    def prepare(self) -> None:
        """Find, before the engine announces itself, what hello reports and is slow to learn
        the first time: the devices (listing CUDA devices imports torch) and the backend
        tables (each capability's list, imported on first use). Hello then costs milliseconds."""
        _ = (self.view.devices, self.view.runtimes)  # each is kept after its first read
        self._backends()

    def publish(self) -> None:
        write_discovery(Discovery(
            endpoint=self._client_endpoint(), token=self.token, pid=os.getpid(),
            version=__version__, protocol=list(PROTOCOL_VERSION),
            log_path=str(self.settings.log_path), started_at=self.started_at,
            server_key=self.listener.server_public_key,
            gateway=self.gateway.url if self.gateway else ""))

    def _client_endpoint(self) -> str:
        return self.listener.client_endpoint

    def stop(self) -> None:
        """Ask the loop to finish (thread-safe)."""
        self._stop.set()

    def serve_forever(self) -> None:
        if not self.endpoint:
            self.bind()
        self.prepare()
        self.publish()
        log.info("engine %s listening on %s (pid %d)", __version__, self.endpoint, os.getpid())
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._events, zmq.POLLIN)
        poller.register(self._gateway_pair, zmq.POLLIN)
        next_orphan_check = time.monotonic() + ORPHAN_CHECK_INTERVAL_S
        stopping_since: float | None = None
        last_turn = time.monotonic()
        try:
            while True:
                ready = dict(poller.poll(POLL_INTERVAL_MS))
                if self._events in ready:
                    self._drain_events()
                if self._router in ready:
                    self._drain_requests()
                if self._gateway_pair in ready:
                    self._drain_gateway()
                now = time.monotonic()
                # Orphans are judged at this same instant, so a pause anywhere in the loop
                # shows up here as a gap before anyone is judged.
                self._credit_pause(last_turn, now)
                last_turn = now
                if now >= next_orphan_check:
                    self.runner.cancel_orphans(self._last_seen, self.settings.orphan_timeout_s, now)
                    self._forget_idle_clients(now)
                    next_orphan_check = now + ORPHAN_CHECK_INTERVAL_S
                if self._stop.is_set() or self._shutdown_waiters:
                    if stopping_since is None:
                        stopping_since = now
                        self._stop.set()
                        self.runner.shutdown(wait=False)
                    grace = self.settings.shutdown_grace_s
                    if self.runner.active_count() == 0 or now - stopping_since > grace:
                        self._drain_events()
                        break
        finally:
            # Jobs still running now ignored their cancel; main() ends the process regardless.
            abandoned = [j["job_id"] for j in self.runner.jobs(include_finished=False)]
            reply = {"stopped": True, "abandoned_jobs": abandoned}
            for identity, request_id in self._shutdown_waiters:
                self._reply(identity, request_id, MessageType.SHUTDOWN_REPLY, reply)
            remove_discovery(os.getpid())
            # A stop that ran its course has waited its grace already; a loop that failed has not.
            self._close(wait_s=0.0 if stopping_since is not None
                        else min(5.0, self.settings.shutdown_grace_s))
            log.info("engine stopped")

    def _close(self, wait_s: float = 5.0) -> None:
        for pool in self._admission.values():
            pool.shutdown(wait=False, cancel_futures=True)
        self.runner.shutdown(wait=wait_s > 0, timeout_s=wait_s)
        if self.gateway is not None:  # its inproc socket must close before the context ends
            self.gateway.stop()
        self._gateway_pair.close(linger=0)
        with self._push_lock:
            self._push_closed = True
            for sock in self._push_sockets:
                sock.close(linger=0)
        self._events.close(linger=0)
        # Give queued replies (the shutdown reply above) a moment to leave.
        self._router.close(linger=200)
        self._ctx.term()

    # --- the loop ----------------------------------------------------------------------------

    def _drain_requests(self) -> None:
        for _ in range(1000):  # bounded so events still get their turn under load
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            if len(frames) < 2:
                continue
            identity, payload = frames[0], frames[1:]
            self._handle(identity, payload)

    def _drain_gateway(self) -> None:
        """Requests from WebSocket clients: [connection id, envelope], handled as the router's."""
        for _ in range(1000):
            try:
                frames = self._gateway_pair.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            if len(frames) >= 2:
                self._handle(IDENTITY_PREFIX + frames[0], frames[1:])

    def _handle(self, identity: bytes, payload: list[bytes]) -> None:
        request_id: str | None = None
        try:
            envelope, buffers = wire.decode(payload, limits=REQUEST_LIMITS)
            request_id = envelope.id
            if not envelope.token or not hmac.compare_digest(envelope.token.encode(), self.token.encode()):
                raise AuthenticationError("missing or wrong token; read it from the engine's "
                                          "discovery file")
            self._seen(identity, envelope)
            wire.check_version(envelope.protocol)
            msg_type = wire.message_type(envelope.type)
            if msg_type not in self._handlers:
                raise wire.UnknownMessageTypeError(
                    f"{msg_type.value!r} is not a request type", detail={"type": msg_type.value})
            body = wire.parse_body(msg_type, envelope.body)
            reply = self._handlers[msg_type](identity, envelope, body)
            if reply is not None:
                self._reply(identity, request_id, msg_type.reply, reply)
        except MoviolaError as exc:
            self._reply(identity, request_id, MessageType.ERROR, exc.to_wire())
        except Exception as exc:  # a bug here must cost one request, not the engine
            log.error("request failed:\n%s", traceback.format_exc())
            err = InternalEngineError(f"engine error while handling the request: {exc}")
            self._reply(identity, request_id, MessageType.ERROR, err.to_wire())

    def _reply(self, identity: bytes, request_id: str | None, msg_type: MessageType,
               body: dict[str, Any]) -> None:
        frames = wire.encode(Envelope(type=msg_type.value, body=body, re=request_id))
        try:
            if identity.startswith(IDENTITY_PREFIX):  # a WebSocket client's
                self._gateway_pair.send_multipart([identity[len(IDENTITY_PREFIX):], *frames],
                                                  zmq.NOBLOCK)
            else:
                self._router.send_multipart([identity, *frames], zmq.NOBLOCK)
        except zmq.Again:
            log.warning("dropped a %s for a client that is not reading", msg_type.value)

    def _forget_idle_clients(self, now: float) -> None:
        if len(self._last_seen) < 1000:
            return
        cutoff = now - max(600.0, self.settings.orphan_timeout_s * 2)
        for client in [i for i, t in self._last_seen.items() if t < cutoff]:
            del self._last_seen[client]
            self._routes.pop(client, None)

    # --- clients: sessions that outlive connections ------------------------------------------

    @staticmethod
    def _client_key(identity: bytes, env: Envelope) -> bytes:
        """Who sent this: the client's session, else (older clients) its connection."""
        if env.session:
            return b"session:" + env.session[:MAX_SESSION_CHARS].encode("utf-8", "replace")
        return identity

    def _seen(self, identity: bytes, env: Envelope) -> None:
        """Any authenticated message is a sign of life, and names the session's connection."""
        client = self._client_key(identity, env)
        self._last_seen[client] = time.monotonic()
        if client != identity:
            self._routes[client] = identity  # a reconnect changes it; events follow

    def _route(self, client: bytes) -> bytes:
        return self._routes.get(client, client)

    def _credit_pause(self, last_turn: float, now: float) -> None:
        gap = now - last_turn
        if gap > PAUSE_CREDIT_AFTER_S:
            log.warning("the engine was paused for %.1f s; clients are not charged for it", gap)
            for client, seen in self._last_seen.items():
                if seen <= last_turn:  # silent through the pause; not one heard since
                    self._last_seen[client] = seen + gap

    # --- job events: from worker threads to the clients watching ------------------------------

    def _post_event(self, job: Job, msg_type: MessageType, body: dict[str, Any]) -> None:
        self._post({"job": job.id, "type": msg_type.value, "body": body})

    def _post(self, message: dict[str, Any]) -> None:
        """Send ``message`` to the server thread, from any thread (one PUSH socket each)."""
        sock = getattr(self._local, "push", None)
        if sock is None:
            with self._push_lock:
                if self._push_closed:  # the loop has ended: a socket made now would never close
                    return
                sock = self._ctx.socket(zmq.PUSH)
                sock.setsockopt(zmq.LINGER, 0)
                sock.connect(EVENTS_ENDPOINT)
                self._push_sockets.append(sock)
            self._local.push = sock
        sock.send(msgpack.packb(message, use_bin_type=True))

    def _drain_events(self) -> None:
        while True:
            try:
                raw = self._events.recv(zmq.NOBLOCK)
            except zmq.Again:
                return
            event = msgpack.unpackb(raw, raw=False)
            if event.get("admitted"):
                self._finish_admissions()
                continue
            job = self.runner.get(event["job"])
            if job is None:
                continue
            for client, request_id in list(job.watchers):
                self._reply(self._route(client), request_id, MessageType(event["type"]), event["body"])

    # --- request handlers --------------------------------------------------------------------

    def _job(self, job_id: str) -> Job:
        job = self.runner.get(job_id)
        if job is None:
            raise UnknownJobError(f"no job {job_id!r} on this engine", detail={"job_id": job_id})
        return job

    def capabilities(self) -> dict[str, Any]:
        return {
            "engine_version": __version__,
            "protocol": list(PROTOCOL_VERSION),
            "pid": os.getpid(),
            "endpoint": self._client_endpoint(),
            "listen": {**self.listener.describe(),
                       "gateway": self.gateway.describe() if self.gateway else None},
            "started_at": self.started_at,
            "devices": self.view.devices,
            "backends": self._backends(),
            "runtimes": self.view.runtimes,
            "models": self._models(),
            "offers": model_offers(self.view.store, self.models),   # neural models to install
            "job_kinds": self._job_kinds,
            "jobs_active": self.runner.active_count(),
            "log_path": str(self.settings.log_path),
            "config_path": str(config_path()),
            "limits": {"max_message_bytes": wire.MAX_MESSAGE_BYTES,
                       "max_jobs": self.settings.max_jobs,
                       "interactive_jobs": self.settings.interactive_jobs,
                       "orphan_timeout_s": self.settings.orphan_timeout_s},
        }

    def _backends(self) -> dict[str, list[dict[str, Any]]]:
        return backends.status(backends.Where.of(self.view))

    def _models(self) -> list[dict[str, Any]]:
        return [self.view.store.status(spec) for spec in self.models.all()]

    def _hello(self, identity: bytes, env: Envelope, body: wire.Hello) -> dict[str, Any]:
        log.debug("hello from %s %s", body.client, body.client_version)
        return self.capabilities()

    def _heartbeat(self, identity: bytes, env: Envelope, body: wire.Heartbeat) -> dict[str, Any]:
        return {"time": time.time(), "jobs_active": self.runner.active_count()}

    def _submit(self, identity: bytes, env: Envelope, body: wire.Submit) -> None:
        if self._stop.is_set():
            raise EngineShuttingDownError("the engine is shutting down and takes no new jobs")
        kind = self.registry.get(body.kind)
        params = schema.validate(kind.Params, body.params)  # types only: cheap, done here
        admission = Admission(identity, self._client_key(identity, env), env.id, body.detach,
                              kind, params, lane_of(kind), raw=body.params)
        if admission.lane == INTERACTIVE:  # batch yields from now: the artist waits already
            self.runner.interactive.enter()
        # Answered by _finish_admissions once check() has run.
        self._admission[admission.lane].submit(self._admit, admission)

    def _admit(self, admission: Admission) -> None:
        """On an admission thread: run the kind's check, then hand the verdict back."""
        try:
            # Through the kind's own prepare(), so a kind that refines validation (a plugin's
            # override of validate/prepare) is honoured, not only its check().
            admission.params, admission.prepared = admission.kind.prepare(admission.raw, self.view)
        except MoviolaError as exc:
            admission.error = exc.to_wire()
        except Exception as exc:  # a bug in a check costs that submit, not the engine
            log.error("check of a %s job failed:\n%s", admission.kind.NAME, traceback.format_exc())
            admission.error = InternalEngineError(
                f"{admission.kind.NAME} check crashed: {type(exc).__name__}: {exc}").to_wire()
        self._admitted.put(admission)
        self._post({"admitted": True})  # wakes the server thread

    def _finish_admissions(self) -> None:
        """On the server thread: answer each checked submit, and queue the ones that passed.
        This thread sends the reply before it forwards any event, so none of the job's events
        can overtake it."""
        while True:
            try:
                admission = self._admitted.get_nowait()
            except queue.Empty:
                return
            try:
                self._answer(admission)
            except Exception as exc:  # a bug here must cost one submit, not the loop
                log.error("submit failed:\n%s", traceback.format_exc())
                err = InternalEngineError(f"engine error while queuing the job: {exc}")
                self._reply(admission.identity, admission.request_id, MessageType.ERROR,
                            err.to_wire())
            finally:
                if admission.lane == INTERACTIVE:  # its job, if queued, holds the batch back now
                    self.runner.interactive.leave()

    def _answer(self, admission: Admission) -> None:
        if admission.error is None and self._stop.is_set():
            admission.error = EngineShuttingDownError(
                "the engine is shutting down and takes no new jobs").to_wire()
        if admission.error is not None:
            self._reply(admission.identity, admission.request_id, MessageType.ERROR,
                        admission.error)
            return
        job = self.runner.submit(admission.kind, admission.params, admission.client,
                                 admission.request_id, admission.detach,
                                 prepared=admission.prepared)
        log.info("job %s (%s) submitted", job.id, job.kind)
        self._reply(admission.identity, admission.request_id, MessageType.SUBMIT.reply,
                    {"job_id": job.id, "kind": job.kind, "state": job.state.value})

    def _job_status(self, identity: bytes, env: Envelope, body: wire.JobStatus) -> dict[str, Any]:
        return self._job(body.job_id).to_wire()

    def _cancel(self, identity: bytes, env: Envelope, body: wire.Cancel) -> dict[str, Any]:
        job = self._job(body.job_id)
        self.runner.cancel(job)
        return {"job_id": job.id, "state": job.state.value, "cancel_requested": True}

    def _list_jobs(self, identity: bytes, env: Envelope, body: wire.ListJobs) -> dict[str, Any]:
        return {"jobs": self.runner.jobs(body.include_finished)}

    def _watch(self, identity: bytes, env: Envelope, body: wire.Watch) -> dict[str, Any] | None:
        job = self._job(body.job_id)
        client = self._client_key(identity, env)
        # One stream per client and job: a repeated watch (a re-watch after a reconnect, or a
        # flood of them) moves the stream to the newest request instead of adding one, so each
        # event costs one send per client however often it asked.
        job.watchers -= {w for w in job.watchers if w[0] == client}
        if len(job.watchers) >= MAX_WATCHERS_PER_JOB:
            raise TooManyRequestsError(
                f"job {job.id} already has {MAX_WATCHERS_PER_JOB} watchers",
                detail={"job_id": job.id, "limit": MAX_WATCHERS_PER_JOB})
        job.watchers.add((client, env.id))
        self._reply(identity, env.id, MessageType.WATCH_REPLY, job.to_wire())
        if job.state.finished:  # it ended before the watch: send the end now
            self._reply(identity, env.id, MessageType.RESULT, job.to_wire())
        return None

    def _shutdown(self, identity: bytes, env: Envelope, body: wire.Shutdown) -> dict[str, Any] | None:
        log.info("shutdown requested")
        if body.wait:
            self._shutdown_waiters.append((identity, env.id))
            return None
        self._stop.set()
        return {"stopped": False, "stopping": True}
