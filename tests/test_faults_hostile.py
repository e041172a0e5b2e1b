"""No one let in: hostile messages, floods, listening off loopback, and the home's permissions.

Every case runs against a real engine process over real ZeroMQ.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time

import msgpack
import pytest
import zmq

from engine_harness import engine_env, start_engine_process, wait_gone
from moviola.plugin import protocol as wire
from moviola.plugin.client import EngineClient
from moviola.plugin.discovery import read_discovery


def raw_socket(endpoint: str) -> zmq.Socket:
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(endpoint)
    return sock


def answer(sock: zmq.Socket, frames: list[bytes], timeout: float = 5.0) -> wire.Envelope:
    sock.send_multipart(frames)
    assert sock.poll(int(timeout * 1000)), "engine did not answer"
    return wire.decode(sock.recv_multipart())[0]


def envelope(token: str, msg_type: str = "hello", body=None, **fields) -> bytes:
    data = {"protocol": list(wire.PROTOCOL_VERSION), "id": "r1", "type": msg_type,
            "token": token, "body": body if body is not None else {}}
    data.update(fields)
    return msgpack.packb(data, use_bin_type=True)


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def hello_seconds(client: EngineClient) -> float:
    start = time.perf_counter()
    client.hello()
    return time.perf_counter() - start


def _nested(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return {"nested": value}


# --- hostile messages --------------------------------------------------------------------------

@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc to read memory")
def test_fifteen_mib_of_empty_maps_costs_bounded_memory_and_time(engine, client):
    client.hello()  # the engine's first hello may find devices; not what is measured here
    sock = raw_socket(engine.discovery.endpoint)
    try:
        size = 15 * 1024 * 1024
        bomb = b"\xdd" + size.to_bytes(4, "big") + b"\x80" * size   # an array of empty maps
        before = rss_bytes(engine.process.pid)
        start = time.perf_counter()
        reply = answer(sock, [bomb], timeout=10.0)
        elapsed = time.perf_counter() - start
        grown = rss_bytes(engine.process.pid) - before
    finally:
        sock.close()
    assert reply.type == "error" and reply.body["code"] == "invalid_field"
    assert "objects" in reply.body["message"]
    # Was 1.1 GB and up to 4 s: now the frame itself (15 MiB, held twice) and a bounded walk.
    assert grown < 150 * 1024 * 1024, f"engine grew by {grown / 2**20:.0f} MiB"
    assert elapsed < 2.0
    assert hello_seconds(client) < 1.0


@pytest.mark.parametrize("body, message", [
    ({b"kind": "sleep"}, "map key"),                       # a bytes key, once `internal`
    (_nested(40),
     "nests deeper"),
])
def test_malformed_shapes_get_typed_errors(engine, client, body, message):
    sock = raw_socket(engine.discovery.endpoint)
    try:
        reply = answer(sock, [envelope(engine.discovery.token, "submit", body=body)])
    finally:
        sock.close()
    assert reply.type == "error" and reply.body["code"] == "invalid_field"
    assert message in reply.body["message"]
    assert client.hello()["engine_version"]


def test_a_bytes_key_in_the_envelope_is_refused_before_the_token(engine):
    sock = raw_socket(engine.discovery.endpoint)
    try:
        frame = msgpack.packb({b"type": "hello", "id": "x", "protocol": [1, 0], "body": {}},
                              use_bin_type=True)
        reply = answer(sock, [frame])
    finally:
        sock.close()
    assert reply.body["code"] == "invalid_field"


def test_twenty_thousand_unread_watches_do_not_slow_hello(engine, client):
    job = client.submit("sleep", {"steps": 60, "step_s": 0.05})
    idle = min(hello_seconds(client) for _ in range(5))
    flood = raw_socket(engine.discovery.endpoint)
    try:
        token = engine.discovery.token
        for n in range(20_000):
            flood.send(envelope(token, "watch", body={"job_id": job.job_id}, id=f"w{n}"))
        # The flood arrives while progress events stream; the sender never reads a reply.
        worst = max(hello_seconds(client) for _ in range(10))
    finally:
        flood.close()
    assert job.wait(idle_timeout=30.0)["steps"] == 60
    assert worst < max(1.0, 50 * idle), f"hello took {worst:.2f} s under the flood (idle {idle:.4f} s)"


# --- listening ---------------------------------------------------------------------------------

def _start(tmp_path, name: str, **settings):
    return start_engine_process(tmp_path / name, **settings)


def test_a_wildcard_host_is_reported_truthfully_and_encrypted(tmp_path):
    running = _start(tmp_path, "wild", host="0.0.0.0")
    try:
        found = running.discovery
        assert found.endpoint.startswith("tcp://127.0.0.1:") and found.server_key
        with running.client(timeout=5.0) as client:
            listen = client.hello()["listen"]
        assert listen["bound"].startswith("tcp://0.0.0.0:")
        assert listen["remote"] and listen["encrypted"] and listen["server_key"] == found.server_key
        # A client that does not speak CURVE gets nothing, not even an error naming the token.
        plain = raw_socket(found.endpoint)
        try:
            plain.send(envelope(found.token))
            assert not plain.poll(1000)
        finally:
            plain.close()
    finally:
        running.stop()


def test_ipv6_loopback_and_wildcard(tmp_path):
    if not zmq.has("ipc") and not os.path.exists("/proc/net/if_inet6"):
        pytest.skip("no IPv6 on this machine")
    loop = _start(tmp_path, "v6loop", host="::1")
    try:
        assert loop.discovery.endpoint.startswith("tcp://[::1]:") and not loop.discovery.server_key
        with loop.client(timeout=5.0) as client:
            assert client.hello()["listen"] == {**client.hello()["listen"], "remote": False,
                                                "encrypted": False}
    finally:
        loop.stop()
    wild = _start(tmp_path, "v6wild", host="::")
    try:
        assert wild.discovery.endpoint.startswith("tcp://[::1]:") and wild.discovery.server_key
        with wild.client(timeout=5.0) as client:
            assert client.hello()["listen"]["bound"].startswith("tcp://[::]:")
    finally:
        wild.stop()


def test_an_address_it_cannot_listen_on_is_a_clear_refusal(tmp_path):
    home = tmp_path / "nohost"
    home.mkdir()
    done = subprocess.run([sys.executable, "-m", "moviola.engine", "--quiet"],
                          env=engine_env(home, host="192.0.2.1"),   # TEST-NET: not this machine
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 4, done.stderr
    assert "cannot listen on tcp://192.0.2.1" in done.stderr and "Traceback" not in done.stderr
    assert read_discovery(home / "engine.json") is None


# --- the home's permissions --------------------------------------------------------------------

@pytest.mark.skipif(os.name == "nt", reason="POSIX modes")
def test_home_is_owner_only_whatever_the_umask(tmp_path):
    home = tmp_path / "home"
    home.mkdir(mode=0o777)
    os.chmod(home, 0o777)           # as a permissive umask would have left an older home
    previous = os.umask(0)          # the engine inherits it
    try:
        running = start_engine_process(home)
    finally:
        os.umask(previous)
    try:
        def mode(path):
            return stat.S_IMODE(os.stat(path).st_mode)

        assert mode(home) == 0o700
        assert mode(home / "engine.json") == 0o600
        assert mode(home / "engine.lock") == 0o600
        assert mode(home / "logs") == 0o700
        assert mode(home / "logs" / "engine.log") == 0o600
    finally:
        running.stop()
        wait_gone(running.process.pid)


def test_a_result_that_cannot_be_sent_fails_the_job_instead_of_hanging_it(client):
    from moviola.plugin import errors

    job = client.submit("unsendable", {})
    with pytest.raises(errors.InternalEngineError, match="cannot be sent.*surrogate"):
        job.wait(idle_timeout=20.0)
    assert client.hello()["engine_version"]
