"""The engine's protocol against a live engine process: answers, typed errors, robustness."""

from __future__ import annotations

import os
import stat
import time

import msgpack
import pytest
import zmq

from moviola.plugin import errors
from moviola.plugin import protocol as wire
from moviola.plugin.client import EngineClient
from moviola.plugin.protocol import MessageType


@pytest.fixture
def raw(engine):
    """A bare DEALER socket, to send what no well-behaved client would."""
    sock = zmq.Context.instance().socket(zmq.DEALER)
    sock.setsockopt(zmq.LINGER, 0)
    sock.connect(engine.discovery.endpoint)
    yield sock
    sock.close()


def exchange(sock, frames, timeout=5.0):
    sock.send_multipart(frames)
    assert sock.poll(int(timeout * 1000)), "engine did not answer"
    envelope, _ = wire.decode(sock.recv_multipart())
    return envelope


def request(engine, msg_type="hello", body=None, **fields):
    data = {"protocol": list(wire.PROTOCOL_VERSION), "id": "req-1", "type": msg_type,
            "token": engine.discovery.token, "body": body if body is not None else {}}
    data.update(fields)
    return [msgpack.packb(data, use_bin_type=True)]


def assert_still_serving(client):
    assert client.hello()["engine_version"]


def test_hello_reports_capabilities(client):
    info = client.hello()
    assert info["protocol"] == list(wire.PROTOCOL_VERSION)
    assert info["pid"] > 0
    assert info["devices"][0]["type"] == "cpu" and info["devices"][0]["cores"] >= 1
    assert set(info["runtimes"]) >= {"classical", "torch", "cuda", "tensorrt"}
    # One answer per task from the backend registry; the weight-free backend always runs.
    assert set(info["backends"]) == {"shots", "matte", "depth", "segmentation"}
    for task, weight_free in (("shots", "classical"), ("matte", "classical"),
                              ("depth", "parallax"), ("segmentation", "classical")):
        rows = {r["name"]: r for r in info["backends"][task]}
        assert rows[weight_free]["available"] and rows[weight_free]["reason"] == ""
        assert all(r["available"] or r["reason"] for r in rows.values())
    kinds = {k["name"]: k for k in info["job_kinds"]}
    assert {"probe", "proxy", "sample", "sleep"} <= set(kinds)
    assert any(p["name"] == "input" and p.get("required") for p in kinds["probe"]["params"])
    assert info["log_path"].endswith("engine.log") and os.path.exists(info["log_path"])


def test_engine_listens_on_loopback_only(engine):
    assert engine.discovery.endpoint.startswith("tcp://127.0.0.1:")


def test_discovery_file_is_owner_only(engine):
    mode = stat.S_IMODE(os.stat(engine.home / "engine.json").st_mode)
    assert mode == 0o600
    assert engine.discovery.pid == engine.process.pid
    assert len(engine.discovery.token) >= 32


@pytest.mark.parametrize("token", ["", "not-the-token"])
def test_wrong_or_missing_token_is_refused(engine, raw, client, token):
    reply = exchange(raw, request(engine, "submit", {"kind": "sleep", "params": {}}, token=token))
    assert reply.type == "error" and reply.body["code"] == "unauthorized"
    assert reply.re == "req-1"
    assert all(j["kind"] != "sleep" or j["state"] != "queued" for j in client.list_jobs())
    assert_still_serving(client)


def test_client_with_wrong_token_raises_typed_error(engine):
    with EngineClient(engine.discovery.endpoint, "wrong", timeout=5.0) as bad:
        with pytest.raises(errors.AuthenticationError):
            bad.hello()


@pytest.mark.parametrize("frames, code", [
    ([b"\xc1\xff\x00garbage"], "bad_message"),
    ([msgpack.packb([1, 2, 3])], "bad_message"),
    ([msgpack.packb("just a string")], "bad_message"),
    ([msgpack.packb({"id": "x", "type": "hello", "body": {}})], "invalid_field"),  # no protocol
])
def test_malformed_messages_get_typed_errors(engine, raw, client, frames, code):
    reply = exchange(raw, frames)
    assert reply.type == "error" and reply.body["code"] == code
    assert reply.body["message"]
    assert_still_serving(client)


@pytest.mark.parametrize("change, code, word", [
    ({"type": "make_coffee"}, "unknown_type", "make_coffee"),
    ({"type": "progress"}, "unknown_type", "progress"),  # an engine→client type
    ({"id": 42}, "invalid_field", "id"),
    ({"body": []}, "invalid_field", "body"),
    ({"protocol": [2, 0]}, "unsupported_version", "incompatible"),
    ({"protocol": "1.0"}, "invalid_field", "protocol"),
])
def test_bad_envelopes_name_the_problem(engine, raw, client, change, code, word):
    reply = exchange(raw, request(engine, **change))
    assert reply.body["code"] == code
    assert word in reply.body["message"]
    assert_still_serving(client)


@pytest.mark.parametrize("body, field", [
    ({}, "kind"),
    ({"kind": 7}, "kind"),
    ({"kind": "sleep", "params": "fast"}, "params"),
    ({"kind": "sleep", "detach": "yes"}, "detach"),
])
def test_bad_request_fields_are_named(engine, raw, client, body, field):
    reply = exchange(raw, request(engine, "submit", body))
    assert reply.body["code"] == "invalid_field"
    assert reply.body["detail"]["field"] == field and field in reply.body["message"]
    assert_still_serving(client)


def test_oversized_message_is_refused_and_engine_keeps_serving(engine, raw, client):
    frames = request(engine) + [b"\0" * (wire.MAX_MESSAGE_BYTES + 1)]
    reply = exchange(raw, frames, timeout=10.0)
    assert reply.body["code"] == "message_too_large"
    assert str(wire.MAX_MESSAGE_BYTES) in reply.body["message"]
    assert_still_serving(client)


def test_unknown_job_kind_and_bad_params(client):
    with pytest.raises(errors.UnknownJobKindError, match="nope"):
        client.submit("nope")
    with pytest.raises(errors.InvalidParamsError, match="steps"):
        client.submit("sleep", {"steps": "many"})
    with pytest.raises(errors.InvalidParamsError, match="colour"):
        client.submit("sleep", {"colour": "red"})
    with pytest.raises(errors.UnknownJobError):
        client.job_status("no-such-job")
    assert_still_serving(client)


def test_progress_streams_and_result_arrives(client):
    job = client.submit("sleep", {"steps": 5, "step_s": 0.05})
    events = list(job.events())
    assert events[-1].final and events[-1].body["state"] == "succeeded"
    progress = [e.body["fraction"] for e in events if not e.final]
    assert progress and progress == sorted(progress) and progress[-1] == 1.0
    assert job.result() == {"steps": 5}
    assert client.job_status(job.job_id)["state"] == "succeeded"


def test_long_job_does_not_block_other_clients_and_can_be_cancelled(engine, client):
    job = client.submit("sleep", {"steps": 200, "step_s": 0.05})
    with engine.client(timeout=5.0) as other:
        latencies = []
        for _ in range(20):
            t0 = time.perf_counter()
            other.hello()
            latencies.append(time.perf_counter() - t0)
        assert max(latencies) < 0.5  # the job thread never holds up the router
        running = [j for j in other.list_jobs(include_finished=False) if j["job_id"] == job.job_id]
        assert running and running[0]["state"] in ("queued", "running")
        other.cancel(job.job_id)
    t0 = time.perf_counter()
    with pytest.raises(errors.JobCancelledError):
        job.wait()
    assert time.perf_counter() - t0 < 2.0
    assert client.job_status(job.job_id)["state"] == "cancelled"


def test_a_crashing_job_fails_typed_and_engine_survives(client):
    job = client.submit("crash", {"message": "divide"})
    with pytest.raises(errors.InternalEngineError, match="ZeroDivisionError: divide"):
        job.wait()
    assert_still_serving(client)


def test_another_client_can_watch_a_job(engine, client):
    job = client.submit("sleep", {"steps": 6, "step_s": 0.05}, detach=True)
    with engine.client() as other:
        watched = other.watch(job.job_id)
        assert watched.wait() == {"steps": 6}
    assert job.wait() == {"steps": 6}


def test_abandoned_attached_job_is_cancelled(engine, client):
    # The session engine runs with a 4 s orphan timeout.
    quitter = engine.client()
    job_id = quitter.submit("sleep", {"steps": 400, "step_s": 0.05}).job_id
    kept_id = quitter.submit("sleep", {"steps": 120, "step_s": 0.05}, detach=True).job_id
    quitter.close()  # no more heartbeats
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and client.job_status(job_id)["state"] != "cancelled":
        time.sleep(0.2)
    assert client.job_status(job_id)["state"] == "cancelled"
    assert client.job_status(kept_id)["state"] in ("running", "queued", "succeeded")
    client.cancel(kept_id)


def test_heartbeat(client):
    assert "jobs_active" in client.heartbeat()


def test_protocol_doc_names_every_type_and_code():
    doc = (os.path.dirname(__file__) + "/../docs/protocol.md")
    text = open(doc, encoding="utf-8").read()
    for msg_type in MessageType:
        assert f"`{msg_type.value}`" in text, msg_type
    for code in errors.ERRORS_BY_CODE:
        assert f"`{code}`" in text, code
    assert "{}.{}".format(*wire.PROTOCOL_VERSION) in text


def test_busy_stream_keeps_an_attached_job_alive(client):
    # Progress flows for longer than the 4 s orphan timeout; only the client's own heartbeats
    # tell the engine it is still there.
    job = client.submit("sleep", {"steps": 110, "step_s": 0.05})
    assert job.wait() == {"steps": 110}


def test_events_of_unfollowed_streams_do_not_pile_up(client):
    for _ in range(3):
        client.submit("sleep", {"steps": 2, "step_s": 0.01})
    client.heartbeat()
    assert all(len(q) <= 1000 for q in client._events.values())
    assert not client._replies and not client._awaited


def test_every_builtin_job_kind_loads():
    from moviola.engine.jobs.registry import BUILTIN_KINDS, _load
    names = {_load(spec).NAME for spec in BUILTIN_KINDS}
    assert {"probe", "proxy", "sample", "install_model", "matte", "matte_preview", "depth",
            "shots", "matchcuts", "frame"} <= names
