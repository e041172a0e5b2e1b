"""Models: the registry of what exists (data) and the local weights store (files)."""
