"""Moviola inside Nuke: read what the artist selected, run it on the engine, put the result
back as Nuke's own nodes.

Imports only the standard library and ``moviola.plugin`` at module level (pyzmq, msgpack,
OTIO); ``nuke``, ``hiero`` and Qt are imported where they are used, so the pure parts
(:mod:`.frames`, :mod:`.coords`) load in any Python 3.9+.

- :mod:`.frames`, :mod:`.coords`: Nuke frames and points ⇄ the engine's (pure);
- :mod:`.read_node`: the Read above a node, and what the engine needs from it;
- :mod:`.background`: a job on a worker thread, progress in a ``nuke.ProgressTask``;
- :mod:`.result_nodes`: the Read → Copy matte tree, the depth Read, prompts on the node;
- :mod:`.mask_render`: a node's alpha on one frame rendered to a file, as a mask keyframe;
- :mod:`.hiero_import`: a shots result as a Nuke Studio sequence, or tags;
- :mod:`.commands`: what the Moviola menu runs; :mod:`.panel`: the dockable panel.
"""
