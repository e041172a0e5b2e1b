"""Mattes: prompts on a keyframe, a mask at once, propagated through the clip."""
