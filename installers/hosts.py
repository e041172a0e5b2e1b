"""What each host needs: its bridge folder, the Pythons it runs, the libraries its bridge imports."""

from __future__ import annotations

from dataclasses import dataclass

# The client's own requirements (pyproject's dependencies that the 3.9 client needs). A host
# that ships one of them (Hiero's OpenTimelineIO) keeps its own: the bridge puts our folder
# last on sys.path.
CLIENT_REQUIREMENTS = ("pyzmq>=25", "msgpack>=1.0", "opentimelineio>=0.17", "otio-fcp-adapter>=1.0",
                       "otio-cmx3600-adapter>=1.0")
# The panel (moviola.ui) reaches the host's own PySide through qtpy.
PANEL_REQUIREMENTS = ("qtpy>=2.4",)


@dataclass(frozen=True)
class Host:
    name: str
    title: str
    # host_bridges/<bridge>/ holds its files; None: there is no bridge yet.
    bridge: str | None
    # Python versions of the host releases we support (one wheel folder each).
    pythons: tuple[str, ...]
    # moviola subpackages copied beside the wheels (pure Python).
    client_packages: tuple[str, ...]
    requirements: tuple[str, ...]
    # macOS: host Pythons whose host release runs only on Intel (under Rosetta on Apple silicon).
    macos_intel_pythons: tuple[str, ...] = ()
    why_unavailable: str = ""


HOSTS: dict[str, Host] = {
    "nuke": Host(
        name="nuke", title="Nuke",
        bridge="nuke",
        # Nuke 14, 15, 16 (VFX Platform CY2022-CY2024; 16 reports 3.11).
        pythons=("3.9", "3.10", "3.11"),
        client_packages=("plugin", "ui"),
        requirements=CLIENT_REQUIREMENTS + PANEL_REQUIREMENTS,
        # Nuke 14 has no Apple silicon build (15.0 added it; unverified against a release note).
        macos_intel_pythons=("3.9",),
    ),
    "resolve": Host(
        name="resolve", title="DaVinci Resolve",
        bridge="resolve",
        # Resolve runs the user's own Python 3.6+; 3.9-3.12 are the ones seen working.
        pythons=("3.9", "3.10", "3.11", "3.12"),
        client_packages=("plugin",),
        requirements=CLIENT_REQUIREMENTS,
    ),
    "premiere": Host(
        name="premiere", title="Premiere Pro",
        # A UXP panel (JavaScript): no Python in the host, so no wheels and no client copy;
        # it reaches the engine through its WebSocket gateway.
        bridge="premiere", pythons=(), client_packages=(), requirements=(),
    ),
}


def hosts_named(name: str) -> list[Host]:
    """``all`` or one host name, as a list."""
    return list(HOSTS.values()) if name == "all" else [HOSTS[name]]


def python_version(text: str) -> str:
    """``3.9`` from ``3.9`` or ``3.9.18``; a typo is refused with the form it wants."""
    from .errors import InstallError

    parts = text.strip().split(".")
    if len(parts) < 2 or not all(p.isdigit() for p in parts) or parts[0] != "3":
        raise InstallError(f"host Python version {text!r} is not of the form 3.X (e.g. 3.9)")
    return f"{parts[0]}.{int(parts[1])}"


def wheel_arch(host: Host, os_name: str, python: str, chosen: str | None) -> str | None:
    """The architecture to fetch wheels for: the one asked for, else the host release's own."""
    if chosen:
        return chosen
    if os_name == "macos" and python in host.macos_intel_pythons:
        return "x86_64"
    return None  # the machine's (or the layout's default)
