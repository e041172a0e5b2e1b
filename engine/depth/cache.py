"""Per-frame predictions between the two passes of a clip, on disk, not in memory.

The first pass predicts every frame at working resolution and measures the links the
stabiliser needs; the second aligns and writes. Predictions wait in a hidden folder inside
the job's output folder (never outside it), one float32 ``.npy`` per frame (and a second one
for its confidence, from a backend that measures it), removed when the clip is done, failed or
cancelled (a killed engine's folder is removed by the next run into that output folder). Disk
use is about 4 bytes per working pixel per frame (2 MB a frame at 924x518), twice that with
confidence. The folder lives for one job only, so its format carries no version.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from types import TracebackType

import numpy as np

from ..media.outputs import resolve_output, temp_name

__all__ = ["PredictionCache"]


class PredictionCache:
    def __init__(self, out_dir: str, name: str) -> None:
        # A pid-stamped temp name: a killed run's folder is swept by the next run.
        self.folder: Path = resolve_output(out_dir, temp_name(f"moviola-depth-{name}"))
        self.folder.mkdir(exist_ok=True)

    def _path(self, frame: int, kind: str = "") -> Path:
        return self.folder / f"{frame}{kind}.npy"

    def save(self, frame: int, values: np.ndarray, confidence: np.ndarray | None = None) -> None:
        np.save(self._path(frame), np.ascontiguousarray(values, dtype=np.float32),
                allow_pickle=False)
        if confidence is not None:
            np.save(self._path(frame, ".confidence"),
                    np.ascontiguousarray(confidence, dtype=np.float32), allow_pickle=False)

    def load(self, frame: int) -> np.ndarray:
        return np.load(self._path(frame), allow_pickle=False)

    def load_confidence(self, frame: int) -> np.ndarray | None:
        """The frame's confidence map, or None when none was saved."""
        path = self._path(frame, ".confidence")
        return np.load(path, allow_pickle=False) if path.exists() else None

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> PredictionCache:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
