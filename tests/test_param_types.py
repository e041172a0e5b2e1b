"""Parameters are parsed from real type hints, so a modernised annotation (``dict[str, Any]``,
``list[int] | None``) parses exactly like the typing-module spelling."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Literal

import pytest

from moviola.engine.jobs import schema
from moviola.plugin import errors, protocol
from moviola.plugin.protocol import MessageType


@dataclass(frozen=True)
class Modern:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    frames: list[int] | None = None
    scale: float = 1.0
    mode: Literal["a", "b"] = "a"


@dataclass(frozen=True)
class Classic:
    kind: str
    params: dict[str, Any] = field(default_factory=dict)
    frames: list[int] | None = None
    scale: float = 1.0
    mode: Literal["a", "b"] = "a"


@pytest.mark.parametrize("cls", [Modern, Classic])
def test_the_job_schema_reads_both_spellings(cls):
    made = schema.validate(cls, {"kind": "x", "params": {"a": 1}, "frames": [1, 2], "scale": 2})
    assert made == cls("x", {"a": 1}, [1, 2], 2.0)
    assert schema.validate(cls, {"kind": "x", "frames": None}).frames is None
    described = {d["name"]: d["type"] for d in schema.describe(cls)}
    assert described == {"kind": "str", "params": "dict", "frames": "list[int] | null",
                         "scale": "float", "mode": "choice"}
    for bad, name in (({"kind": "x", "params": [1]}, "params"),
                      ({"kind": "x", "frames": ["1"]}, "frames[0]"),
                      ({"kind": "x", "frames": [True]}, "frames[0]"),
                      ({"kind": "x", "mode": "c"}, "mode")):
        with pytest.raises(errors.InvalidParamsError, match=name.replace("[", r"\[")):
            schema.validate(cls, bad)


@pytest.mark.parametrize("cls", [Modern, Classic])
def test_request_bodies_read_both_spellings(cls, monkeypatch):
    monkeypatch.setitem(protocol.REQUEST_BODIES, MessageType.SUBMIT, cls)
    body = protocol.parse_body(MessageType.SUBMIT, {"kind": "x", "params": {"a": 1},
                                                    "frames": [1], "scale": 2})
    assert body == cls("x", {"a": 1}, [1], 2)
    assert protocol.parse_body(MessageType.SUBMIT, {"kind": "x", "frames": None}).frames is None
    for bad, words in (({"kind": 1}, "'kind' must be str"),
                       ({"kind": "x", "params": []}, "'params' must be dict"),
                       ({"kind": "x", "frames": {}}, "'frames' must be list | null"),
                       ({"kind": "x", "scale": True}, "'scale' must be float"),
                       ({}, "missing required field 'kind'")):
        with pytest.raises(errors.InvalidRequestError, match=words.replace("|", r"\|")):
            protocol.parse_body(MessageType.SUBMIT, bad)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="int | None needs Python 3.10 at runtime")
def test_request_bodies_accept_the_union_operator(monkeypatch):
    @dataclass(frozen=True)
    class Body:
        count: int | None = None

    monkeypatch.setitem(protocol.REQUEST_BODIES, MessageType.LIST_JOBS, Body)
    assert protocol.parse_body(MessageType.LIST_JOBS, {"count": None}).count is None
    assert protocol.parse_body(MessageType.LIST_JOBS, {"count": 3}).count == 3
    with pytest.raises(errors.InvalidRequestError, match="int | null"):
        protocol.parse_body(MessageType.LIST_JOBS, {"count": "3"})


def test_the_real_request_bodies_still_parse():
    body = protocol.parse_body(MessageType.SUBMIT, {"kind": "probe", "params": {"input": "a"}})
    assert body.params == {"input": "a"} and body.detach is False
    with pytest.raises(errors.InvalidRequestError, match="'detach' must be bool"):
        protocol.parse_body(MessageType.SUBMIT, {"kind": "probe", "detach": 1})
