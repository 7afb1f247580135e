"""What a channel accepts in one message, looked up by the channel's name.

The core (handlers, services) asks `limits_of(incoming.channel)` — text length, whether
there are buttons, callback data size, caption size, whether documents can be sent — and
never names a platform. Each channel module declares its `LIMITS` (bot/channels/<name>.py);
this module finds it by the name, so adding a channel adds no line here.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class ChannelLimits:
    """What a platform accepts in one message."""

    name: str
    text_length: int  # characters of one text message
    buttons: bool  # inline buttons; without them choices are a numbered list to type
    callback_size: int | None  # bytes of button data (None: data never leaves the server)
    caption_length: int  # characters of a file's caption (0: no captions)
    documents: bool  # can send documents; otherwise files go as signed links


# For a channel name with no module (tests that invent one): plain text, no buttons.
FALLBACK = ChannelLimits(name="", text_length=4000, buttons=False, callback_size=None, caption_length=0,
                         documents=False)

_CACHE: dict[str, ChannelLimits] = {}


def limits_of(channel: str) -> ChannelLimits:
    """The limits the module bot/channels/<channel>.py declares (FALLBACK when there is none)."""
    cached = _CACHE.get(channel)
    if cached is not None:
        return cached
    limits = FALLBACK
    if channel.isidentifier():
        try:
            declared = getattr(importlib.import_module(f"bot.channels.{channel}"), "LIMITS", None)
        except ImportError:
            declared = None
        if isinstance(declared, ChannelLimits):
            limits = declared
    _CACHE[channel] = limits
    return limits
