"""Conversations, one module each, as small state machines over the neutral message types.

Nothing here imports a channel library; `router.handle` is the single entry point.
"""
