"""A bounded look at a msgpack message before anything is built from it.

``msgpack.unpackb`` builds every object a message names: 15 MiB of one-byte empty maps becomes
fifteen million dicts (over a gigabyte, seconds of work) before the engine could look at the
token. :func:`check_shape` walks the bytes instead, building nothing, and stops at the first
limit crossed: too many objects, nesting too deep, a map key that is not a string, an ext type,
or bytes that end early. Only a message that passes is unpacked.

Pure Python 3.9+, no dependencies: the client imports it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import InvalidRequestError, ProtocolError


@dataclass(frozen=True)
class ShapeLimits:
    #: Objects (scalars, strings and containers) in one message. A request's envelope holds a
    #: few dozen; a matte submit with many keyframes a few thousand.
    max_objects: int = 100_000
    #: Nesting depth of maps and arrays. Requests nest four or five deep.
    max_depth: int = 32


REQUEST_LIMITS = ShapeLimits()

# Bytes that follow a type byte and are skipped whole (fixed-size scalars).
_FIXED = {0xc0: 0, 0xc2: 0, 0xc3: 0, 0xca: 4, 0xcb: 8, 0xcc: 1, 0xcd: 2, 0xce: 4, 0xcf: 8,
          0xd0: 1, 0xd1: 2, 0xd2: 4, 0xd3: 8}
# Strings and binaries with an explicit length: type byte -> (length-field size, is a str).
_SIZED = {0xd9: (1, True), 0xda: (2, True), 0xdb: (4, True),
          0xc4: (1, False), 0xc5: (2, False), 0xc6: (4, False)}
_LENGTH = {1: struct.Struct(">B"), 2: struct.Struct(">H"), 4: struct.Struct(">I")}


def _length(data: bytes, pos: int, size: int) -> int:
    if pos + size > len(data):
        raise ProtocolError("envelope is not valid msgpack: it ends inside a length")
    return _LENGTH[size].unpack_from(data, pos)[0]


def check_shape(data: bytes, limits: ShapeLimits = REQUEST_LIMITS) -> None:
    """Raise a :class:`ProtocolError` unless ``data`` is one msgpack object within ``limits``.

    Costs at most ``max_objects`` steps whatever the message holds.
    """
    end = len(data)
    pos = 0
    objects = 0
    # One entry per open container: items still to read, and whether it is a map (whose
    # items alternate key, value: a key is read whenever the count left is even).
    stack: list[list] = []
    while True:
        is_key = bool(stack) and stack[-1][1] and stack[-1][0] % 2 == 0
        if pos >= end:
            raise ProtocolError("envelope is not valid msgpack: it ends early")
        objects += 1
        if objects > limits.max_objects:
            raise InvalidRequestError(
                f"message holds more than {limits.max_objects} objects",
                detail={"limit": limits.max_objects})
        b = data[pos]
        pos += 1
        count = -1           # items of a container opened here, else -1
        is_map = False
        is_str = False
        if b <= 0x7f or b >= 0xe0:
            pass                                    # fixint
        elif 0xa0 <= b <= 0xbf:
            pos += b & 0x1f                         # fixstr
            is_str = True
        elif 0x80 <= b <= 0x8f:
            count, is_map = (b & 0x0f) * 2, True    # fixmap
        elif 0x90 <= b <= 0x9f:
            count = b & 0x0f                        # fixarray
        elif b in _FIXED:
            pos += _FIXED[b]
        elif b in _SIZED:
            size, is_str = _SIZED[b]
            pos += size + _length(data, pos, size)
        elif b in (0xdc, 0xdd):
            size = 2 if b == 0xdc else 4
            count = _length(data, pos, size)
            pos += size
        elif b in (0xde, 0xdf):
            size = 2 if b == 0xde else 4
            count, is_map = _length(data, pos, size) * 2, True
            pos += size
        else:                                       # ext types and the unused 0xc1
            raise ProtocolError(f"envelope uses msgpack type 0x{b:02x}, which the protocol "
                                f"does not allow")
        if pos > end:
            raise ProtocolError("envelope is not valid msgpack: it ends inside a value")
        if is_key and not is_str:
            raise InvalidRequestError("every map key in a message must be a string")
        if count > 0:
            if len(stack) >= limits.max_depth:
                raise InvalidRequestError(
                    f"message nests deeper than {limits.max_depth} levels",
                    detail={"limit": limits.max_depth})
            # Each item takes at least one byte: a count beyond the bytes left is a lie.
            if count > end - pos:
                raise ProtocolError("envelope is not valid msgpack: a container claims more "
                                    "items than the message has bytes")
            stack.append([count, is_map])
            continue
        # A complete item: count it against every container it closes.
        while stack:
            stack[-1][0] -= 1
            if stack[-1][0]:
                break
            stack.pop()
        if not stack:
            break
    if pos != end:
        raise ProtocolError("envelope is not valid msgpack: extra bytes after the envelope")
