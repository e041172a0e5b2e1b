"""Match cuts: per-shot representations, pair scoring and search.

One module per step (arXiv 2210.05766): :mod:`.collect` (shots of every input),
:mod:`.dedupe` (near-duplicate groups), :mod:`.features` with one module per flavour
(:mod:`.silhouette`, :mod:`.motion`, :mod:`.look`, all :class:`.flavour.Flavour`),
:mod:`.search` (exact or HNSW neighbours), :mod:`.rank` (exact scores, top K); plus
:mod:`.cache` (the per-media cache, now ``engine/media/cache``), :mod:`.otio_out` (markers, review
timeline) and :mod:`.metrics` (average precision).
"""
