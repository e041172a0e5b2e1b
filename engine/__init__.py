"""Moviola engine: the process that owns the GPU, the models and the media."""
