"""One source for the package version and the wire protocol version."""

__version__ = "0.1.0"

# Major changes break compatibility (a client refuses a different major); minor ones only add.
PROTOCOL_VERSION = (1, 1)
