"""Turn computed mattes into files: decode each full-resolution plate once, refine every
object's edge against it, write. Refining and writing run on a small thread pool with a
bounded number of frames in flight, so memory stays flat on long clips."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from ..media.frame_source import FrameSource
from ..media.pipeline import FramePipeline
from .object_matte import ObjectMatte
from .outputs import MatteOutput
from .refine import refine_alpha

if TYPE_CHECKING:
    from ..kernels.stages import OpenCLStages

__all__ = ["render"]

MAX_IN_FLIGHT = 4


def _refine_and_write(writer: MatteOutput, soft: np.ndarray, plate: np.ndarray,
                      frame: int, stages: OpenCLStages | None = None,
                      given: np.ndarray | None = None) -> np.ndarray:
    alpha = given if given is not None else refine_alpha(soft, plate, stages=stages)
    if not writer.ordered:
        writer.write(alpha, frame, stages)
    return alpha


def render(media: FrameSource, objects: Sequence[ObjectMatte], writers: Sequence[MatteOutput],
           first: int, last: int, threads: int, check: Callable[[], None],
           on_frame: Callable[[], None], stages: OpenCLStages | None = None) -> None:
    """Write frames ``first..last`` of every object; ``on_frame()`` after each written one.
    ``stages``: the OpenCL device refining the edges and quantising them (None: the CPU).

    On any error (or cancellation) the writers are aborted: movies are removed, and image
    sequence files already written stay complete (each was written atomically).
    """
    def written(alpha: np.ndarray, writer: MatteOutput, frame: int) -> None:
        if writer.ordered:  # a movie takes frames in order, from one thread
            writer.write(alpha, frame, stages)
        on_frame()

    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="moviola-matte") as pool, \
                FramePipeline(pool, MAX_IN_FLIGHT + 1) as frames:
            for number, plate in media.frames(first, last + 1):
                check()
                for obj, writer in zip(objects, writers):
                    plan = obj.plans[number - first]
                    frames.submit(_refine_and_write, writer, obj.soft_mask(plan), plate, number,
                                  stages, obj.given_alpha(plan),
                                  then=partial(written, writer=writer, frame=number))
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
