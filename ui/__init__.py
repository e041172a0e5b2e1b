"""The Moviola panel (PySide6 through qtpy): click, see the mask, apply, review."""
