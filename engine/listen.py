"""Where the engine listens, said truthfully, and the rule for leaving loopback.

On loopback (127.0.0.0/8, ``::1``, ``localhost``) the token alone guards the socket: only the
user can read it, and nothing crosses a network. Any other address, a wildcard included, is
served only with ZeroMQ CURVE: traffic is encrypted and clients must know the engine's public
key (published in the owner-only discovery file beside the token), so the token never crosses
the network in clear and no one can pose as the engine. Where libzmq has no CURVE, such an
address is refused.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass

import zmq

from moviola.plugin.errors import InvalidParamsError

log = logging.getLogger(__name__)

LOOPBACK_NAMES = ("localhost",)
WILDCARDS = {"0.0.0.0": "127.0.0.1", "*": "127.0.0.1", "::": "::1"}


def _ip(host: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def is_loopback(host: str) -> bool:
    ip = _ip(host)
    return host in LOOPBACK_NAMES if ip is None else ip.is_loopback


def _tcp(host: str, port: int | str) -> str:
    ip = _ip(host)
    text = f"[{ip}]" if ip is not None and ip.version == 6 else host
    return f"tcp://{text}:{port}"


@dataclass
class Listener:
    """The engine's front socket: bound where asked, CURVE-protected off loopback."""

    host: str
    port: int = 0
    server_public_key: str = ""     # Z85 text; empty on loopback
    bound: str = ""                 # what the socket is bound to, e.g. tcp://0.0.0.0:5555

    @property
    def remote(self) -> bool:
        return not is_loopback(self.host)

    @property
    def client_endpoint(self) -> str:
        """The address a client on this machine connects to."""
        if not self.bound:
            return ""
        port = self.bound.rsplit(":", 1)[1]
        host = WILDCARDS.get(self.host.strip("[]") if self.host != "*" else "*", self.host)
        return _tcp(host, port)

    def bind(self, socket: zmq.Socket) -> str:
        if self.remote:
            if not zmq.has("curve"):
                raise InvalidParamsError(
                    f"cannot listen on {self.host!r}: off loopback the engine encrypts its "
                    f"socket with CURVE, and this libzmq has no CURVE support; use 127.0.0.1",
                    detail={"setting": "host"})
            public, secret = zmq.curve_keypair()
            socket.curve_server = True
            socket.curve_secretkey = secret
            self.server_public_key = public.decode("ascii")
        ip = _ip(self.host)
        if (ip is not None and ip.version == 6) or self.host == "::":
            socket.setsockopt(zmq.IPV6, 1)
        endpoint = _tcp(self.host, self.port or "*")
        try:
            socket.bind(endpoint)
        except zmq.ZMQError as exc:
            raise InvalidParamsError(
                f"cannot listen on {endpoint}: {exc.strerror}; check the host (an address of "
                f"this machine, e.g. 127.0.0.1) and that port {self.port or 'any'} is free",
                detail={"setting": "host", "endpoint": endpoint}) from None
        self.bound = socket.getsockopt_string(zmq.LAST_ENDPOINT)
        if self.remote:
            log.warning("engine listens off loopback on %s, encrypted with CURVE: clients need "
                        "the discovery file's token and server key", self.bound)
        return self.bound

    def describe(self) -> dict[str, object]:
        """What hello and ``engine status`` report."""
        return {"bound": self.bound, "endpoint": self.client_endpoint, "remote": self.remote,
                "encrypted": bool(self.server_public_key),
                "server_key": self.server_public_key or None}
