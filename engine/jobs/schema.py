"""Typed job parameters: a dataclass per job kind, validated before the job is queued.

``describe(cls)`` turns the dataclass into the schema clients see in ``hello``;
``validate(cls, raw)`` builds an instance or raises InvalidParamsError naming the parameter.
Field types are read from the real type hints (``typing.get_type_hints`` with
``get_origin``/``get_args``), never from the annotation's text, so ``Dict[str, Any]`` and
``dict[str, Any]``, ``Optional[int]`` and ``int | None`` mean the same. Supported: str, int,
float, bool, bytes, list[...], dict[...], Optional[...] and Literal[...] (a closed set of
choices). A numeric parameter may declare its :class:`Bounds` (with the reason for them) once,
in its ``param``; :func:`validate` checks them and :func:`describe` publishes them.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from moviola.plugin.errors import InvalidParamsError

_NAMES = {str: "str", int: "int", float: "float", bool: "bool", dict: "dict", list: "list",
          bytes: "bytes"}


@dataclass(frozen=True)
class Bounds:
    """The values a numeric parameter may take: ``low..high``, or ``0`` when ``zero`` says
    what 0 means (e.g. "full size"). ``why`` gives the reason for the limits."""

    low: float
    high: float
    why: str
    zero: str | None = None

    def check(self, name: str, value: float) -> None:
        if value == 0 and self.zero is not None:
            return
        if not self.low <= value <= self.high:
            allowed = f"{_num(self.low)}..{_num(self.high)}"
            if self.zero is not None:
                allowed = f"0 ({self.zero}) or {allowed}"
            raise InvalidParamsError(f"{name} must be {allowed}, got {value!r}",
                                     detail={"param": name.split("[")[0]})

    def to_wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"min": self.low, "max": self.high, "why": self.why}
        if self.zero is not None:
            out["zero"] = self.zero
        return out


def _num(value: float) -> str:
    return f"{value:g}"


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    if get_origin(tp) in (Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        if len(args) == 1 and len(get_args(tp)) == 2:
            return args[0], True
    return tp, False


def _type_name(tp: Any) -> str:
    tp, optional = _unwrap_optional(tp)
    if get_origin(tp) is Literal:
        name = "choice"
    elif get_origin(tp) is list:
        (item,) = get_args(tp) or (Any,)
        name = f"list[{_NAMES.get(item, 'any')}]"
    else:
        name = _NAMES.get(get_origin(tp) or tp, "any")
    return name + (" | null" if optional else "")


def describe(cls: type) -> list[dict[str, Any]]:
    """The wire schema of a parameter dataclass: one entry per field."""
    hints = get_type_hints(cls)
    out = []
    for f in dataclasses.fields(cls):
        entry: dict[str, Any] = {"name": f.name, "type": _type_name(hints[f.name]),
                                 "help": f.metadata.get("help", "")}
        base, _ = _unwrap_optional(hints[f.name])
        if get_origin(base) is Literal:
            entry["choices"] = list(get_args(base))
        if f.metadata.get("bounds") is not None:
            entry["bounds"] = f.metadata["bounds"].to_wire()
        if f.default is not dataclasses.MISSING:
            entry["default"] = f.default
        elif f.default_factory is not dataclasses.MISSING:
            entry["default"] = f.default_factory()
        else:
            entry["required"] = True
        out.append(entry)
    return out


def _check(name: str, value: Any, tp: Any) -> Any:
    tp, optional = _unwrap_optional(tp)
    if value is None:
        if optional:
            return None
        raise InvalidParamsError(f"parameter {name!r} must not be null", detail={"param": name})
    origin = get_origin(tp)
    if origin is Literal:
        if value not in get_args(tp):
            raise InvalidParamsError(
                f"parameter {name!r} must be one of {list(get_args(tp))}, got {value!r}",
                detail={"param": name})
        return value
    if origin is list:
        if not isinstance(value, (list, tuple)):
            raise InvalidParamsError(f"parameter {name!r} must be a list, got {type(value).__name__}",
                                     detail={"param": name})
        (item,) = get_args(tp) or (Any,)
        return [_check(f"{name}[{i}]", v, item) for i, v in enumerate(value)]
    if tp is Any:
        return value
    if tp is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    base = origin or tp
    if not isinstance(value, base) or (isinstance(value, bool) and base is not bool):
        raise InvalidParamsError(
            f"parameter {name!r} must be {_NAMES.get(base, base)}, got {type(value).__name__}",
            detail={"param": name})
    return value


def validate(cls: type, raw: typing.Mapping[str, Any]) -> Any:
    """Build ``cls`` from a wire map; unknown or missing parameters are errors."""
    if not isinstance(raw, typing.Mapping):
        raise InvalidParamsError("job parameters must be a map")
    hints = get_type_hints(cls)
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InvalidParamsError(f"unknown parameter {unknown[0]!r}; known: {sorted(known)}",
                                 detail={"param": unknown[0]})
    values = {}
    for f in dataclasses.fields(cls):
        if f.name in raw:
            values[f.name] = value = _check(f.name, raw[f.name], hints[f.name])
            bounds = f.metadata.get("bounds")
            if bounds is not None and value is not None:
                bounds.check(f.name, value)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise InvalidParamsError(f"missing required parameter {f.name!r}", detail={"param": f.name})
    return cls(**values)


def param(default: Any = dataclasses.MISSING, *, help: str = "",
          bounds: Bounds | None = None) -> Any:
    """A dataclass field with help text (and, for a number, its bounds), for parameter
    dataclasses."""
    metadata = {"help": help, "bounds": bounds}
    if isinstance(default, (list, dict)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
