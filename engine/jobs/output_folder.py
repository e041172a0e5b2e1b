"""Where a job writes: its ``out``, or, when it was given none, ``<output_dir>/<input stem>``
with ``output_dir`` from the engine's settings (``docs/configuration.md``).

The one place that default is decided: every job with an output folder calls
:func:`output_folder` in both ``check`` and ``run``.
"""

from __future__ import annotations

from pathlib import Path

from moviola.plugin.errors import InvalidParamsError

from ..config import Settings, load_settings
from ..inputs import input_stem

__all__ = ["output_folder"]


def output_folder(out: str | None, input: str, settings: Settings | None = None) -> str:
    """``out`` when given, else ``<output_dir>/<stem of input>``.

    Raises:
        InvalidParamsError: no ``out`` and no ``output_dir`` setting (names ``out``).
    """
    if out:
        return out
    base = (settings or load_settings()).output_dir
    if not base:
        raise InvalidParamsError("no output folder: give out, or set output_dir in the config "
                                 "(or MOVIOLA_OUTPUT_DIR)", detail={"param": "out"})
    return str(Path(base).expanduser() / input_stem(input))
