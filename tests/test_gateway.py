"""The engine's WebSocket gateway, against a real engine process with a real WebSocket client.

Every request type over JSON text frames and msgpack binary frames, streamed progress, binary
values in JSON ($bin), one job registry behind both doors, and the refusals: no or a wrong
token, an origin it does not expect, malformed and oversized frames. After each refusal the
engine still answers, over the gateway and over ZeroMQ.
"""

from __future__ import annotations

import base64
import itertools
import json
import socket
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import msgpack
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from engine_harness import RunningEngine, engine_env, start_engine_process, wait_gone
from moviola.plugin import protocol as wire
from synthetic import write_video

pytestmark = pytest.mark.timeout(120)

_ids = itertools.count(1)


class Door:
    """One WebSocket client speaking JSON (text frames) or msgpack (binary frames)."""

    def __init__(self, engine: RunningEngine, *, binary: bool = False, **kwargs: Any) -> None:
        self.token = engine.discovery.token
        self.binary = binary
        self._stack = ExitStack()
        self.ws: ClientConnection = self._stack.enter_context(
            connect(engine.discovery.gateway, **kwargs))

    def close(self) -> None:
        self._stack.close()

    def send_raw(self, message: str | bytes) -> None:
        self.ws.send(message)

    def send(self, msg_type: str, body: dict[str, Any] | None = None, *,
             token: str | None = "", session: str | None = None) -> str:
        request_id = f"gw-{next(_ids)}"
        envelope: dict[str, Any] = {"protocol": [1, 1], "id": request_id, "type": msg_type,
                                    "body": body or {}}
        if token is not None:
            envelope["token"] = token or self.token
        if session:
            envelope["session"] = session
        self.ws.send(msgpack.packb(envelope, use_bin_type=True) if self.binary
                     else json.dumps(envelope))
        return request_id

    def recv(self) -> dict[str, Any]:
        message = self.ws.recv(timeout=30)
        if self.binary:
            assert isinstance(message, bytes), "a binary request is answered in binary"
            return msgpack.unpackb(message, raw=False)
        assert isinstance(message, str), "a JSON request is answered in JSON"
        return json.loads(message)

    def request(self, msg_type: str, body: dict[str, Any] | None = None, **kw: Any) -> dict[str, Any]:
        request_id = self.send(msg_type, body, **kw)
        reply = self.recv()
        assert reply.get("re") == request_id, reply
        return reply

    def hello(self) -> dict[str, Any]:
        reply = self.request("hello", {"client": "test", "client_version": "1"})
        assert reply["type"] == "hello_reply", reply
        return reply["body"]


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory):
    running = start_engine_process(tmp_path_factory.mktemp("gateway-home"))
    yield running
    running.stop()


@pytest.fixture()
def door(engine: RunningEngine):
    client = Door(engine)
    yield client
    client.close()


def _still_serving(engine: RunningEngine, door: Door | None = None) -> None:
    fresh = Door(engine) if door is None else door
    assert fresh.hello()["pid"] == engine.discovery.pid
    if door is None:
        fresh.close()
    with engine.client(timeout=10) as client:  # and the ZeroMQ door
        assert client.hello()["pid"] == engine.discovery.pid


def _follow(door: Door, request_id: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    progress = []
    while True:
        msg = door.recv()
        assert msg.get("re") == request_id, msg
        if msg["type"] == "progress":
            progress.append(msg["body"])
        elif msg["type"] == "result":
            return progress, msg["body"]


def test_published_in_discovery_and_hello(engine: RunningEngine, door: Door) -> None:
    assert engine.discovery.gateway.startswith("ws://127.0.0.1:")
    listen = door.hello()["listen"]
    assert listen["gateway"]["url"] == engine.discovery.gateway
    assert listen["gateway"]["origins"] == ["null", "uxp://*"]


@pytest.mark.parametrize("binary", [False, True], ids=["json", "msgpack"])
def test_every_request_type(engine: RunningEngine, binary: bool) -> None:
    door = Door(engine, binary=binary)
    try:
        assert door.hello()["job_kinds"]
        beat = door.request("heartbeat")
        assert beat["type"] == "heartbeat_reply" and "jobs_active" in beat["body"]

        # submit: the reply, then progress streamed, then the result
        submit_id = door.send("submit", {"kind": "sleep", "params": {"steps": 4, "step_s": 0.15}})
        reply = door.recv()
        assert reply["type"] == "submit_reply" and reply["re"] == submit_id, reply
        job_id = reply["body"]["job_id"]
        progress, result = _follow(door, submit_id)
        assert [p["done"] for p in progress][-1] == 4
        assert all(p["job_id"] == job_id for p in progress)
        assert result["state"] == "succeeded" and result["result"] == {"steps": 4}

        status = door.request("job_status", {"job_id": job_id})
        assert status["type"] == "job_status_reply" and status["body"]["state"] == "succeeded"
        listed = door.request("list_jobs", {"include_finished": True})
        assert job_id in [j["job_id"] for j in listed["body"]["jobs"]]

        # watch of a finished job: its record, then its end
        watch_id = door.send("watch", {"job_id": job_id})
        assert door.recv()["type"] == "watch_reply"
        end = door.recv()
        assert end["type"] == "result" and end["re"] == watch_id

        # cancel a running job: its stream ends cancelled
        long_id = door.send("submit", {"kind": "sleep", "params": {"steps": 400, "step_s": 0.05}})
        running = door.recv()["body"]["job_id"]
        cancel_id = door.send("cancel", {"job_id": running})
        cancel = door.recv()
        while cancel["type"] == "progress":  # events may come first; the reply follows
            cancel = door.recv()
        assert cancel["re"] == cancel_id
        assert cancel["type"] == "cancel_reply" and cancel["body"]["cancel_requested"] is True
        _, ended = _follow(door, long_id)
        assert ended["state"] == "cancelled" and ended["error"]["code"] == "cancelled"
    finally:
        door.close()


def test_one_job_registry_behind_both_doors(engine: RunningEngine, door: Door) -> None:
    """A job submitted over ZeroMQ is listed and followed over the gateway."""
    with engine.client(timeout=10) as client:
        handle = client.submit("sleep", {"steps": 6, "step_s": 0.1}, detach=True)
        listed = door.request("list_jobs", {"include_finished": False})
        assert handle.job_id in [j["job_id"] for j in listed["body"]["jobs"]]
        watch_id = door.send("watch", {"job_id": handle.job_id})
        assert door.recv()["type"] == "watch_reply"
        progress, result = _follow(door, watch_id)
        assert progress and result["state"] == "succeeded"


def test_binary_values_travel_as_base64_in_json(engine: RunningEngine, tmp_path: Path) -> None:
    movie = write_video(tmp_path / "clip.mp4", 6)
    params = {"input": str(movie), "frame": 2}
    as_json, as_msgpack = Door(engine), Door(engine, binary=True)
    try:
        pngs = []
        for door in (as_json, as_msgpack):
            submit_id = door.send("submit", {"kind": "frame", "params": params})
            assert door.recv()["type"] == "submit_reply"
            _, result = _follow(door, submit_id)
            assert result["state"] == "succeeded", result
            pngs.append(result["result"]["png"])
        text_png, binary_png = pngs
        assert set(text_png) == {"$bin"}
        assert base64.b64decode(text_png["$bin"]) == binary_png
        assert binary_png.startswith(b"\x89PNG")
    finally:
        as_json.close()
        as_msgpack.close()


def test_bad_token_is_refused(engine: RunningEngine, door: Door) -> None:
    for token in (None, "0" * 64):
        reply = door.request("list_jobs", {}, token=token)
        assert reply["type"] == "error" and reply["body"]["code"] == "unauthorized", reply
    _still_serving(engine, door)


def test_unexpected_origin_is_refused(engine: RunningEngine) -> None:
    with connect(engine.discovery.gateway, origin="https://example.com") as ws:
        refusal = json.loads(ws.recv(timeout=10))
        assert refusal["type"] == "error"
        assert refusal["body"]["code"] == "unauthorized"
        assert refusal["body"]["detail"]["origin"] == "https://example.com"
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    uxp = Door(engine, origin="uxp://com.moviola.premiere")
    try:
        _still_serving(engine, uxp)
    finally:
        uxp.close()


@pytest.mark.parametrize("frame, code", [
    ("not json", "bad_message"),
    ("[1, 2, 3]", "bad_message"),
    (b"\xc1\xc1 not msgpack", "bad_message"),
    (json.dumps({"protocol": [1, 1], "type": "hello", "body": {}}), "invalid_field"),
    (json.dumps({"protocol": [1, 1], "id": "x", "type": "hello", "body": {"p": {"$bin": "%%"}}}),
     "bad_message"),
    ("[" * 5000 + "]" * 5000, "invalid_field"),
    (json.dumps({"protocol": [1, 1], "id": "x", "type": "hello", "body": {"k": [0] * 200_000}}),
     "invalid_field"),
    (msgpack.packb({"protocol": [1, 1], "id": "x", "type": "hello", "body": {"k": [0] * 200_000}}),
     "invalid_field"),
], ids=["text", "json-array", "binary-garbage", "no-id", "bad-base64", "deep", "json-many",
        "msgpack-many"])
def test_malformed_frames_get_typed_errors(engine: RunningEngine, door: Door,
                                           frame: str | bytes, code: str) -> None:
    door.binary = isinstance(frame, bytes)
    door.send_raw(frame)
    reply = door.recv()
    assert reply["type"] == "error" and reply["body"]["code"] == code, reply
    door.binary = False
    _still_serving(engine, door)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_oversized_frame_gets_message_too_large(engine: RunningEngine, door: Door,
                                                binary: bool) -> None:
    size = wire.MAX_MESSAGE_BYTES + 1
    door.binary = binary
    door.send_raw(b"\x00" * size if binary else " " * size)
    reply = door.recv()
    assert reply["type"] == "error" and reply["body"]["code"] == "message_too_large", reply
    door.binary = False
    _still_serving(engine, door)


def test_frame_beyond_the_transport_limit_closes_the_connection(engine: RunningEngine) -> None:
    door = Door(engine, binary=True)
    door.send_raw(b"\x00" * (wire.TRANSPORT_MAX_MESSAGE_BYTES + 1))
    with pytest.raises(ConnectionClosed) as closed:
        door.ws.recv(timeout=30)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
    _still_serving(engine)


def test_off_by_setting(tmp_path: Path) -> None:
    running = start_engine_process(tmp_path / "home", gateway="false")
    try:
        assert running.discovery.gateway == ""
        with running.client(timeout=10) as client:
            assert client.hello()["listen"]["gateway"] is None
    finally:
        running.stop()


def test_shutdown_over_the_gateway(tmp_path: Path) -> None:
    running = start_engine_process(tmp_path / "home")
    door = Door(running)
    try:
        reply = door.request("shutdown", {"wait": True})
        assert reply["type"] == "shutdown_reply" and reply["body"]["stopped"] is True, reply
        assert wait_gone(running.process.pid)
    finally:
        door.close()
        running.stop()


def test_a_gateway_port_in_use_stops_the_start(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = engine_env(tmp_path / "home", gateway_port=str(port))
        done = subprocess.run([sys.executable, "-m", "moviola.engine", "--quiet"], env=env,
                              capture_output=True, text=True, timeout=60)
    assert done.returncode == 4
    assert f"127.0.0.1:{port}" in done.stderr and "gateway_port" in done.stderr


def test_stays_on_loopback_when_the_engine_listens_off_it(tmp_path: Path) -> None:
    """The ZeroMQ socket goes off loopback only with CURVE; the WebSocket has none, so stays."""
    running = start_engine_process(tmp_path / "home", host="0.0.0.0")
    try:
        assert running.discovery.server_key  # the router is encrypted
        assert running.discovery.gateway.startswith("ws://127.0.0.1:")
        door = Door(running)
        try:
            listen = door.hello()["listen"]
        finally:
            door.close()
        assert listen["bound"].startswith("tcp://0.0.0.0:")
        assert listen["gateway"]["url"] == running.discovery.gateway
    finally:
        running.stop()
