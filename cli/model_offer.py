"""One line after ``moviola matte``/``depth`` when a neural model would have done better.

The engine says in ``hello``'s ``offers`` which model each task's ``auto`` would run if its
weights were installed, what it adds, and the exact install command. The line goes to stderr
(stdout stays the command's summary) when the job fell back to the backend that needs no
weights, or when the backend asked for cannot run for want of its weights. Nothing with
``--json``: scripts read the result's own ``backend``.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any, Callable

from moviola.plugin.client import EngineClient
from moviola.plugin.errors import InvalidParamsError
from moviola.plugin.model_offers import offer_size

from .jobs_cmd import run_job

__all__ = ["offer_line", "run_with_offer"]

#: The backend each task falls back to, which needs no weights.
FALLBACKS = {"matte": "classical", "depth": "parallax"}


def offer_line(offer: dict[str, Any]) -> str:
    """``offer`` (one entry of ``hello``'s ``offers``) as one line: what, size, licence, how."""
    head = f"{offer['model']} ({offer_size(offer)}, {offer['license']})"
    how = offer["command"]
    if offer.get("needs_packages"):
        how = f"pip install 'moviola[ml]', then {how}"
    if not offer.get("download"):
        where = offer.get("source") or "see moviola models list"
        how = f"install from the publisher's files ({where}): {how}"
    return f"hint: {head} would do better: {offer.get('adds', '')}. Install: {how}"


def _backend_name(result: dict[str, Any]) -> str:
    backend = result.get("backend")
    return str(backend.get("backend") if isinstance(backend, dict) else backend or "")


def _print_offer(client: EngineClient, kind: str, error: str = "") -> None:
    offer = (client.hello().get("offers") or {}).get(kind)
    # After an error, only when it is about this model (not another one asked for by name).
    if offer and (not error or offer["model"] in error):
        print(offer_line(offer), file=sys.stderr)


def run_with_offer(args: argparse.Namespace, kind: str, params: dict[str, Any],
                   summary: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """:func:`run_job`, then the offer of ``kind``'s neural model where the job did without
    it: ``auto`` fell back, or the backend asked for lacks its weights (then the error)."""
    with EngineClient.connect(autostart=not args.no_autostart, timeout=args.timeout) as client:
        try:
            result = run_job(args, kind, params, summary, client=client)
        except InvalidParamsError as exc:
            if not args.json and "not installed" in str(exc):
                _print_offer(client, kind, str(exc))
            raise
        fell_back = params.get("backend", "auto") == "auto" and _backend_name(result) == FALLBACKS[kind]
        if fell_back and not args.json:
            _print_offer(client, kind)
    return result
