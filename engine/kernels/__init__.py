"""Full-resolution pixel stages on any GPU through OpenCL (pyopencl, optional).

The OpenCL C sources lie beside this file (``*.cl``) and are compiled once per device and
process (:mod:`.runtime`). :mod:`.stages` runs the matte's edge refinement, depth's joint
bilateral upsampling, flow warping, the temporal filter's blend and the 16-bit conversion,
each equal to its CPU function within the tolerances in ``docs/architecture.md``, on one of
two buffer sets per device so frames written by two threads overlap. :mod:`.convert` gives
the same integers on the device or the CPU. :mod:`.choice` resolves a job's ``device``
parameter; anything missing or broken means the CPU path and a problem line.
"""
