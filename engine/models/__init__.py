"""Models: the registry of what exists (data), the local weights store (files), what a stored
checkpoint says about itself (``checkpoints``), and the one TensorRT path every neural backend
uses (``tensorrt``: export, build, cache, run)."""
