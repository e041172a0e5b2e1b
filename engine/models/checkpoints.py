"""What a checkpoint in the weights store says about itself: its ``config.json``.

Depth, segmentation and matte checkpoints are stored the way ``save_pretrained`` writes them
(``config.json`` + ``model.safetensors``); backends read the config to check the kind of
model before loading anything (no torch import here).
"""

from __future__ import annotations

import json
from typing import Any

from .registry import ModelSpec
from .store import WeightsStore

__all__ = ["read_config"]


def read_config(store: WeightsStore, spec: ModelSpec) -> dict[str, Any]:
    """The checkpoint's ``config.json``, or {} if it is not installed or not readable."""
    try:
        config = json.loads((store.folder(spec) / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return config if isinstance(config, dict) else {}
