"""One send pace for the whole bot in this process.

Telegram limits a bot as a whole (about 30 messages a second), not each of its senders:
replies to people, the outbox sender's pushes and the notices' progress edits all take
their slots here, and a 429 seen by any of them (`hold`) pauses all of them.

Pushes reserve slots of 1/rate first come, first served. Replies to people go first
(`pace_reply`): a person waits only for a 429 hold and Telegram's own cap (`reply_rate`),
and each reply moves the pushes back by one slot, so the bot as a whole stays at the push
rate while it is busy with both. A chat's replies are sent one after another by that
chat's worker, so a chat that floods the bot holds at most one place in the line and
never delays the others by more than a slot.
"""

from __future__ import annotations

import asyncio
import time


class Pacer:
    """Send slots of 1/rate seconds, shared by every sender of one bot."""

    def __init__(self, rate_per_second: float = 29.0, burst: int = 1, reply_rate: float = 29.0) -> None:
        self.interval = 1.0 / rate_per_second if rate_per_second > 0 else 0.0
        self.burst = max(1, burst)
        self.reply_interval = 1.0 / reply_rate if reply_rate > 0 else 0.0
        self._next_slot = 0.0
        self._reply_slot = 0.0
        self._hold_until = 0.0

    async def pace_reply(self) -> None:
        """A slot for one message to a person: ahead of the pushes, after any 429 hold."""
        now = time.monotonic()
        slot = max(self._reply_slot, self._hold_until, now)
        self._reply_slot = slot + self.reply_interval
        self._next_slot = max(self._next_slot, slot) + self.interval  # the pushes give up a slot
        if slot > now:
            await asyncio.sleep(slot - now)

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
        until = time.monotonic() + seconds
        self._next_slot = max(self._next_slot, until)
        self._hold_until = max(self._hold_until, until)
