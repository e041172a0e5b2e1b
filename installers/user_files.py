"""A marked block in a file the user owns (Nuke's ~/.nuke/init.py), added and taken out again.

The user's own lines are never rewritten: the block is appended, and uninstall removes the lines
from its first marker to its last, leaving every other byte as it was.
"""

from __future__ import annotations

from pathlib import Path

from .manifest import BlockEdit

BEGIN = "# >>> moviola >>> written by `moviola install {host}`; `moviola uninstall {host}` removes it"
END = "# <<< moviola <<<"


def nuke_init_lines(plugin_dir: Path) -> list[str]:
    """Lines for ~/.nuke/init.py that add the Moviola plug-in folder to Nuke's plug-in path.

    ``nuke.pluginAddPath`` puts it on sys.path and runs its init.py at once (which activates
    moviola_bootstrap: the wheels, the engine command), and its menu.py when the UI starts.
    """
    # Forward slashes on Windows too: Nuke's own paths use them.
    return ["import nuke", f"nuke.pluginAddPath({plugin_dir.as_posix()!r})"]


def block_text(host: str, lines: list[str], newline: str = "\n") -> str:
    return newline.join([BEGIN.format(host=host), *lines, END]) + newline


def planned_block(path: Path, host: str, lines: list[str]) -> str:
    """The text :func:`append_block` would add to ``path`` (for --dry-run)."""
    return block_text(host, lines, _newline_of(_read(path)))


def append_block(path: Path, host: str, lines: list[str]) -> BlockEdit:
    """Append the block (replacing an earlier one of ours); returns what uninstall needs."""
    existed = path.exists()
    text = _read(path)
    if existed and BEGIN.format(host=host) in text:
        text = _without_block(text, BEGIN.format(host=host))
        existed = bool(text)  # nothing but our earlier block: ours to remove again
    newline = _newline_of(text)
    newline_added = bool(text) and not text.endswith(("\n", "\r"))
    if newline_added:
        text += newline
    text += block_text(host, lines, newline)
    _write(path, text)
    return BlockEdit(path=str(path), begin=BEGIN.format(host=host), end=END,
                     created_file=not existed, newline_added=newline_added)


def remove_block(edit: BlockEdit) -> str:
    """Take the block out; returns what happened, in words, for the report."""
    path = Path(edit.path)
    if not path.exists():
        return f"{path}: already gone"
    text = _read(path)
    if edit.begin not in text:
        return f"{path}: the Moviola block was already removed"
    text = _without_block(text, edit.begin, edit.end)
    if edit.newline_added and text.endswith(("\r\n", "\n")):
        text = text[:-2] if text.endswith("\r\n") else text[:-1]
    if edit.created_file and not text.strip():
        path.unlink()
        return f"{path}: removed (install created it)"
    _write(path, text)
    return f"{path}: Moviola block removed, the rest kept"


def _without_block(text: str, begin: str, end: str = END) -> str:
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip("\r\n") == begin), None)
    if start is None:
        return text
    stop = next((i for i in range(start, len(lines)) if lines[i].rstrip("\r\n") == end), len(lines) - 1)
    return "".join(lines[:start] + lines[stop + 1:])


def _newline_of(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


def _read(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, encoding="utf-8", newline="") as handle:
        return handle.read()


def _write(path: Path, text: str) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
