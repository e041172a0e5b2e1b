"""Moviola client side."""
from ._version import __version__, PROTOCOL_VERSION
