"""The engine's resize (cv2.resize) against the swscale and OpenImageIO paths it replaced, in
one process: run ``python benchmarks/resize_bench.py``.

A textured 1920x1080 RGB frame to 960x540 (area filter), 8-bit, 16-bit and float; the median
of repeated runs, and the ratio to the engine's time. Figures are printed, never asserted.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from functools import partial

import av
import numpy as np
import OpenImageIO as oiio

from moviola.engine.media.resize import resize

_SWS = {np.dtype(np.uint8): "rgb24", np.dtype(np.uint16): "rgb48le"}


def swscale(a: np.ndarray, width: int, height: int) -> np.ndarray:
    frame = av.VideoFrame.from_ndarray(a, format=_SWS[a.dtype])
    return frame.reformat(width=width, height=height, interpolation="AREA").to_ndarray()


def openimageio(a: np.ndarray, width: int, height: int) -> np.ndarray:
    src = oiio.ImageBuf(a)
    dst = oiio.ImageBufAlgo.resize(src, filtername="box",
                                   roi=oiio.ROI(0, width, 0, height, 0, 1, 0, a.shape[2]))
    return dst.get_pixels(src.spec().format)


def median_ms(fn: Callable[[], object], repeats: int = 15) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


def main() -> int:
    rng = np.random.default_rng(0)
    base = rng.random((1080, 1920, 3)).astype(np.float32)
    frames = {"uint8": (base * 255).astype(np.uint8), "uint16": (base * 65535).astype(np.uint16),
              "float32": base}
    for name, a in frames.items():
        ours = median_ms(partial(resize, a, 960, 540))
        print(f"{name:8s} cv2.resize {ours:7.2f} ms", end="")
        if a.dtype in _SWS:
            other = median_ms(partial(swscale, a, 960, 540))
            print(f"   swscale {other:7.2f} ms ({other / ours:5.1f}x)", end="")
        other = median_ms(partial(openimageio, a, 960, 540), repeats=5)
        print(f"   OpenImageIO {other:7.2f} ms ({other / ours:5.1f}x)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
