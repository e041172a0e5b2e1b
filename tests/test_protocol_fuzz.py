"""Property tests of the decoder: whatever bytes arrive, decode raises a ProtocolError or
returns a well-formed envelope; and a live engine survives a burst of random messages."""

from __future__ import annotations

import random

import msgpack
import zmq
from hypothesis import given, settings
from hypothesis import strategies as st

from moviola.plugin import protocol as wire
from moviola.plugin.errors import ProtocolError

msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**64 - 1) | st.floats(allow_nan=True)
    | st.text(max_size=20) | st.binary(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)

envelope_like = st.fixed_dictionaries(
    {},
    optional={
        "protocol": st.one_of(st.lists(st.integers(-3, 3), max_size=3), msgpack_values),
        "id": st.one_of(st.text(max_size=8), msgpack_values),
        "type": st.one_of(st.sampled_from([t.value for t in wire.MessageType]), msgpack_values),
        "token": st.one_of(st.text(max_size=8), msgpack_values),
        "body": st.one_of(st.dictionaries(st.text(max_size=6), msgpack_values, max_size=3), msgpack_values),
        "re": msgpack_values,
    },
)


def check_decode(frames):
    try:
        envelope, buffers = wire.decode(frames)
    except ProtocolError:
        return
    assert isinstance(envelope.type, str) and isinstance(envelope.id, str)
    assert isinstance(envelope.body, dict) and isinstance(envelope.protocol, tuple)
    assert all(isinstance(b, bytes) for b in buffers)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.binary(max_size=64), min_size=0, max_size=3))
def test_decode_random_bytes(frames):
    check_decode(frames)


@settings(max_examples=400, deadline=None)
@given(msgpack_values)
def test_decode_random_msgpack(value):
    check_decode([msgpack.packb(value, use_bin_type=True)])


@settings(max_examples=400, deadline=None)
@given(envelope_like)
def test_decode_envelope_shaped_maps(data):
    check_decode([msgpack.packb(data, use_bin_type=True)])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(wire.REQUEST_BODIES)),
       st.dictionaries(st.text(max_size=10), msgpack_values, max_size=4))
def test_parse_body_raises_only_typed_errors(msg_type, body):
    try:
        wire.parse_body(msg_type, body)
    except ProtocolError:
        pass


def test_round_trip():
    env = wire.Envelope(type="hello", body={"client": "x"}, token="t")
    frames = wire.encode(env, [b"\x00\x01"])
    back, buffers = wire.decode(frames)
    assert back == env and buffers == [b"\x00\x01"]


def test_live_engine_survives_random_traffic(engine, client):
    rng = random.Random(1234)
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(engine.discovery.endpoint)
    try:
        sent = 0
        for _ in range(200):
            kind = rng.random()
            if kind < 0.4:
                frames = [rng.randbytes(rng.randint(0, 200))]
            elif kind < 0.8:
                data = {"protocol": [1, rng.randint(0, 3)], "id": str(rng.random()),
                        # every type but shutdown: this engine serves the rest of the session
                        "type": rng.choice([t.value for t in wire.MessageType
                                            if t is not wire.MessageType.SHUTDOWN] + ["x"]),
                        "token": rng.choice([engine.discovery.token, "", "bad"]),
                        "body": {"kind": rng.choice(["sleep", "crash", "", 3]),
                                 "params": {"steps": rng.choice([0, 1, "x", None])},
                                 "job_id": rng.choice(["", "nope", 5])}}
                frames = [msgpack.packb(data)]
            else:
                frames = [msgpack.packb(rng.randint(0, 10**6)), rng.randbytes(50)]
            sock.send_multipart(frames)
            sent += 1
        replies = 0
        while sock.poll(2000):
            envelope, _ = wire.decode(sock.recv_multipart())
            if envelope.type not in ("progress", "result"):  # events of jobs that did start
                replies += 1
        assert replies == sent  # every message got exactly one answer (error or reply)
    finally:
        sock.close()
    assert client.hello()["engine_version"]
