"""Match cuts: per-shot representations, pair scoring and search."""
