"""A stand-in for Nuke Studio / Hiero's ``hiero`` package (see ``hiero.core``)."""
