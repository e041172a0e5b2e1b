"""The engine's second front door: the same protocol over a WebSocket, on loopback only.

JavaScript hosts (Premiere's UXP panels) have ``WebSocket`` but no ZeroMQ. This module only
translates frames: a JSON text frame or a msgpack binary frame becomes the msgpack envelope a
ZeroMQ client would send, and goes to the server thread through an inproc PAIR socket, where
the router's own code decodes, authenticates and routes it (one job registry, one set of
sessions and limits). Replies and events come back the same way and leave in the kind of frame
the connection last sent. All of it runs on this module's own thread and asyncio loop, so the
router thread does no more than route.

What a client sends and gets is in ``docs/protocol.md`` ("The WebSocket gateway").
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import itertools
import json
import logging
import re
import threading
from typing import Any

import msgpack
import zmq
import zmq.asyncio
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from moviola.plugin import protocol as wire
from moviola.plugin.errors import (
    AuthenticationError,
    InvalidParamsError,
    InvalidRequestError,
    MessageTooLargeError,
    MoviolaError,
    ProtocolError,
)
from moviola.plugin.protocol import Envelope, MessageType
from moviola.plugin.wire_shape import REQUEST_LIMITS, ShapeLimits

log = logging.getLogger(__name__)

GATEWAY_ENDPOINT = "inproc://moviola-gateway"
# Server-side client identities of gateway connections. A ZeroMQ peer's identity is either
# 5 bytes starting with a zero byte (libzmq's own) or chosen by the peer and never starting
# with one, so these can be no ZeroMQ client's.
IDENTITY_PREFIX = b"\x00ws:"
LOOPBACK = "127.0.0.1"   # no CURVE for a WebSocket: never anywhere else (docs/protocol.md)
BIN_KEY = "$bin"         # a msgpack bin value in a JSON frame: {"$bin": "<base64>"}
NO_ORIGIN = ""           # a client that sends no Origin header (Node, Python, curl)
SEND_QUEUE_MESSAGES = 1000   # per connection, as the router's high-water mark
STOP_DRAIN_S = 0.5           # at stop, how long replies already sent (a shutdown's) may take
# Strings in a JSON text, so that structure outside them can be counted.
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)


def parse_origins(text: str) -> list[str]:
    """The ``gateway_origins`` setting: comma-separated patterns, ``*`` any run of characters."""
    return [part.strip() for part in text.split(",") if part.strip()]


def origin_allowed(origin: str | None, patterns: list[str]) -> bool:
    if origin is None or origin == NO_ORIGIN:
        return True  # not a browser-like client: nothing to tell apart, the token guards
    return any(fnmatch.fnmatchcase(origin, pattern) for pattern in patterns)


# --- frames: JSON <-> msgpack ------------------------------------------------------------------

def _from_json(value: Any) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and BIN_KEY in value:
            data = value[BIN_KEY]
            try:
                return base64.b64decode(data, validate=True)
            except (TypeError, ValueError):
                raise ProtocolError(f"a {BIN_KEY!r} value must be standard base64 text") from None
        return {k: _from_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_json(v) for v in value]
    return value


def _to_json(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {BIN_KEY: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, dict):
        return {k: _to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_json(v) for v in value]
    return value


def json_to_envelope(text: str, limits: ShapeLimits = REQUEST_LIMITS) -> bytes:
    """A JSON text frame as the msgpack envelope frame the router reads; a ProtocolError if
    it cannot be one.

    Structure is counted before anything is parsed, so a hostile text (millions of empty
    arrays) is refused at the cost of one scan, like the router's msgpack shape check.
    """
    bare = _JSON_STRING.sub("", text)
    items = 1 + sum(bare.count(c) for c in ",:[{")  # an upper bound on the objects it builds
    if items > limits.max_objects:
        raise InvalidRequestError(f"message holds more than {limits.max_objects} objects",
                                       detail={"limit": limits.max_objects})
    try:
        data = json.loads(text)
    except RecursionError:
        raise InvalidRequestError(f"message nests deeper than {limits.max_depth} levels",
                                       detail={"limit": limits.max_depth}) from None
    except ValueError as exc:
        raise ProtocolError(f"text frame is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"envelope must be a JSON object, got {type(data).__name__}")
    try:
        return msgpack.packb(_from_json(data), use_bin_type=True)
    except (OverflowError, ValueError, TypeError) as exc:  # e.g. an integer beyond 64 bits
        raise ProtocolError(f"envelope cannot be carried: {exc}") from None


def envelope_to_json(frame: bytes) -> str:
    return json.dumps(_to_json(msgpack.unpackb(frame, raw=False)), separators=(",", ":"))


def error_frame(exc: MoviolaError, as_json: bool) -> str | bytes:
    """An ``error`` message the gateway answers itself (a frame it could not carry at all)."""
    frame = wire.encode(Envelope(type=MessageType.ERROR.value, body=exc.to_wire(), re=None))[0]
    return envelope_to_json(frame) if as_json else frame


# --- connections --------------------------------------------------------------------------------

class _Connection:
    """One WebSocket client: its outgoing queue, and the kind of frame it last sent, in which
    everything it is sent comes back (a client speaks JSON or msgpack, not both at once)."""

    def __init__(self, ws: ServerConnection, conn_id: bytes) -> None:
        self.ws = ws
        self.conn_id = conn_id
        self.outgoing: asyncio.Queue[str | bytes] = asyncio.Queue(SEND_QUEUE_MESSAGES)
        self.json = True

    def queue(self, frame: str | bytes) -> None:
        try:
            self.outgoing.put_nowait(frame)
        except asyncio.QueueFull:  # a client that does not read loses replies, as on ZeroMQ
            log.warning("dropped a message for a gateway client that is not reading")


class Gateway:
    """Serve WebSocket clients on 127.0.0.1 from a thread of its own.

    ``ctx`` is the engine's ZeroMQ context (inproc needs the same one); the server thread has
    bound ``GATEWAY_ENDPOINT`` before :meth:`start`.
    """

    def __init__(self, ctx: zmq.Context, port: int, origins: list[str]) -> None:
        self._ctx = ctx
        self.port = port
        self.origins = origins
        self.url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._connections: dict[bytes, _Connection] = {}
        self._ids = itertools.count(1)

    def describe(self) -> dict[str, Any]:
        """What hello reports under ``listen.gateway``."""
        return {"url": self.url, "origins": list(self.origins)}

    def start(self) -> str:
        """Listen, or raise a MoviolaError naming the address; return the URL."""
        self._thread = threading.Thread(target=self._run, name="moviola-gateway", daemon=True)
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            raise self._error
        return self.url

    def stop(self, timeout_s: float = 5.0) -> None:
        """Deliver what is queued (briefly), close every connection, end the thread."""
        loop, stop = self._loop, self._stop
        if self._thread is None or loop is None or stop is None:
            return
        try:
            loop.call_soon_threadsafe(stop.set)
        except RuntimeError:  # its loop has ended already
            pass
        self._thread.join(timeout_s)

    # --- the gateway's thread ---------------------------------------------------------------

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # noqa: BLE001 - reported to start(), or logged
            if not self._ready.is_set():
                self._error = exc
                self._ready.set()
            else:
                log.exception("the WebSocket gateway stopped")

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        actx = zmq.asyncio.Context.shadow(self._ctx)
        pair = actx.socket(zmq.PAIR)
        pair.setsockopt(zmq.LINGER, 0)
        pair.connect(GATEWAY_ENDPOINT)
        try:
            try:
                server = await serve(
                    lambda ws: self._serve_connection(ws, pair), LOOPBACK, self.port,
                    # Beyond the transport limit the library closes the connection (1009), as
                    # ZeroMQ drops such a message; below it, the router's own limit answers.
                    max_size=wire.TRANSPORT_MAX_MESSAGE_BYTES, compression=None)
            except OSError as exc:
                raise InvalidParamsError(
                    f"cannot serve the WebSocket gateway on {LOOPBACK}:{self.port or 'any'}: "
                    f"{exc.strerror or exc}; set gateway_port to a free port, or gateway = false",
                    detail={"setting": "gateway_port"}) from None
            port = next(iter(server.sockets)).getsockname()[1]
            self.url = f"ws://{LOOPBACK}:{port}"
            self._ready.set()
            replies = asyncio.create_task(self._forward_replies(pair))
            await self._stop.wait()
            await self._finish(server, replies)
        finally:
            pair.close(linger=0)

    async def _finish(self, server: Server, replies: asyncio.Task[None]) -> None:
        # Replies already sent by the server thread (a shutdown's) still reach their clients.
        await asyncio.sleep(0.05)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STOP_DRAIN_S
        while loop.time() < deadline and any(not c.outgoing.empty()
                                             for c in self._connections.values()):
            await asyncio.sleep(0.02)
        replies.cancel()
        server.close(close_connections=True)
        try:
            await asyncio.wait_for(server.wait_closed(), 2.0)
        except asyncio.TimeoutError:
            pass

    async def _forward_replies(self, pair: zmq.asyncio.Socket) -> None:
        """From the server thread: [connection id, envelope] -> that connection's queue."""
        while True:
            frames = await pair.recv_multipart()
            if len(frames) < 2:
                continue
            conn = self._connections.get(frames[0])
            if conn is None:  # it closed; the server thread learns of it by its silence
                continue
            try:
                conn.queue(envelope_to_json(frames[1]) if conn.json else frames[1])
            except Exception:  # noqa: BLE001 - one message lost, never the gateway
                log.exception("could not translate a reply for a gateway client")

    async def _serve_connection(self, ws: ServerConnection, pair: zmq.asyncio.Socket) -> None:
        origin = ws.request.headers.get("Origin") if ws.request is not None else None
        if not origin_allowed(origin, self.origins):
            log.warning("gateway refused a connection from origin %r (gateway_origins: %s)",
                        origin, ",".join(self.origins))
            err = AuthenticationError(
                f"origin {origin!r} is not one the engine accepts; add it to the "
                f"gateway_origins setting if it is your panel's", detail={"origin": origin})
            try:
                await ws.send(error_frame(err, as_json=True))
                await ws.close(1008, "origin not accepted")
            except ConnectionClosed:
                pass
            return
        conn_id = next(self._ids).to_bytes(8, "big")
        conn = _Connection(ws, conn_id)
        self._connections[conn_id] = conn
        sender = asyncio.create_task(self._send_loop(conn))
        try:
            async for message in ws:
                await self._take(conn, message, pair)
        except ConnectionClosed:
            pass
        finally:
            del self._connections[conn_id]
            sender.cancel()

    async def _take(self, conn: _Connection, message: str | bytes,
                    pair: zmq.asyncio.Socket) -> None:
        as_json = isinstance(message, str)
        try:
            if len(message) > wire.MAX_MESSAGE_BYTES:  # characters of text: never fewer bytes
                raise MessageTooLargeError(
                    f"message of {len(message)} bytes exceeds the limit of "
                    f"{wire.MAX_MESSAGE_BYTES} bytes",
                    detail={"size": len(message), "limit": wire.MAX_MESSAGE_BYTES})
            # A binary frame goes on as it is: the router checks it like any ZeroMQ request.
            frame = json_to_envelope(message) if isinstance(message, str) else message
        except MoviolaError as exc:
            conn.queue(error_frame(exc, as_json))
            return
        conn.json = as_json
        await pair.send_multipart([conn.conn_id, frame])

    @staticmethod
    async def _send_loop(conn: _Connection) -> None:
        try:
            while True:
                await conn.ws.send(await conn.outgoing.get())
        except ConnectionClosed:
            pass
