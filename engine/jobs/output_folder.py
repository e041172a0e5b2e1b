"""Where a job writes: its ``out``, or, when it was given none, ``<output_dir>/<input stem>``
with ``output_dir`` from the engine's settings (``docs/configuration.md``).

The one place that default is decided: every job with an output folder calls
:func:`output_folder` in its ``check``, which hands the folder to ``run``.
"""

from __future__ import annotations

from pathlib import Path

from moviola.plugin.errors import InvalidParamsError

from ..config import Settings
from ..inputs import check_input, input_stem
from ..media.outputs import ensure_dir
from .base import Prepared

__all__ = ["output_folder", "prepare_output"]


def output_folder(out: str | None, input: str, settings: Settings) -> str:
    """``out`` when given, else ``<output_dir>/<stem of input>``.

    Raises:
        InvalidParamsError: no ``out`` and no ``output_dir`` setting (names ``out``).
    """
    if out:
        return out
    base = settings.output_dir
    if not base:
        raise InvalidParamsError("no output folder: give out, or set output_dir in the config "
                                 "(or MOVIOLA_OUTPUT_DIR)", detail={"param": "out"})
    return str(Path(base).expanduser() / input_stem(input))


def prepare_output(input: str, out: str | None, settings: Settings) -> Prepared:
    """``check``'s part for a job that reads one input and writes a folder: the input stat'ed
    and classified, and the output folder decided and made (typed errors for either)."""
    checked = check_input(input)
    return Prepared(checked, str(ensure_dir(output_folder(out, input, settings))))
