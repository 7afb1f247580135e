"""One send pace for the whole bot in this process.

Telegram limits a bot as a whole (about 30 messages a second), not each of its senders:
replies to people, the outbox sender's pushes and the notices' progress edits all take
their slots here, and a 429 seen by any of them (`hold`) pauses all of them.

Slots are reserved first come, first served, one request at a time per caller: a chat's
replies are sent one after another by that chat's worker, so a chat that floods the bot
holds at most one place in the line and never delays the others by more than a slot.
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Send slots of 1/rate seconds, shared by every sender of one bot."""

    def __init__(self, rate_per_second: float = 29.0, burst: int = 1) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.burst = max(1, burst)
        self._next_slot = 0.0

    async def pace(self, cost: int = 1) -> None:
        """Wait for the next free send slot and reserve `cost` slots from it.

        A token bucket of `burst` slots: time not used (idle, or a slow send) is saved up to
        `burst` slots, so one late send is caught up without going over the rate for long.
        """
        now = time.monotonic()
        slot = max(self._next_slot, now - (self.burst - 1) * self.interval)
        self._next_slot = slot + cost * self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (Telegram answered 429 with this retry_after)."""
        self._next_slot = max(self._next_slot, time.monotonic() + seconds)
