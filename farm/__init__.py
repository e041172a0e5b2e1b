"""Moviola on a render farm: Open Job Description (OpenJD) job bundles.

``export`` turns a timeline into a job bundle in Deadline Cloud's layout (``bundle``), one
task per clip (``plan``); a worker runs one task in-process through the same job code the
engine runs (``task``), and a last step gathers every task's output into one result
timeline (``gather``). Nothing here imports the engine's server: a worker needs no engine.
See ``docs/farm.md``.
"""
