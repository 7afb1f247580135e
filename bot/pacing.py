"""One send pace for the whole bot (in this process; across processes on PostgreSQL: SharedPacer).

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


class SharedPacer(Pacer):
    """Send slots kept in the database: several processes on one PostgreSQL database together
    stay at the rate (bot.leadership). Each slot is one guarded UPDATE of the `send_pace` row
    (a row lock, a millisecond) that moves the bot's next free slot on and says how long to
    wait for the one reserved; a 429 (`hold`) moves it past the pause for every process.

    Replies to people take their slots from the same row (another process's pushes cannot
    be moved back from here); they still wait for at most one slot per sending process.
    """

    def __init__(self, engine, rate_per_second: float = 29.0, burst: int = 1, reply_rate: float = 29.0,  # type: ignore[no-untyped-def]
                 name: str = "bot") -> None:
        super().__init__(rate_per_second, burst, reply_rate)
        self.engine = engine
        self.name = name

    def reserve(self, cost: int = 1) -> float:
        """Reserve `cost` slots; return the seconds to wait for the first (blocking: a thread's work)."""
        from sqlalchemy import text

        with self.engine.begin() as conn:
            wait = conn.execute(text(
                "INSERT INTO send_pace AS p (name, next_at) "
                "VALUES (:name, extract(epoch from clock_timestamp()) + :span) "
                "ON CONFLICT (name) DO UPDATE SET next_at = "
                "GREATEST(p.next_at, extract(epoch from clock_timestamp()) - :slack) + :span "
                "RETURNING p.next_at - :span - extract(epoch from clock_timestamp())"),
                {"name": self.name, "span": cost * self.interval, "slack": (self.burst - 1) * self.interval},
            ).scalar()
        return max(0.0, float(wait or 0.0))

    def _hold_shared(self, seconds: float) -> None:
        from sqlalchemy import text

        with self.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO send_pace AS p (name, next_at) VALUES (:name, extract(epoch from clock_timestamp()) + :s) "
                "ON CONFLICT (name) DO UPDATE SET next_at = GREATEST(p.next_at, extract(epoch from clock_timestamp()) + :s)"),
                {"name": self.name, "s": seconds})

    async def _slot(self, cost: int) -> None:
        now = time.monotonic()
        if self._hold_until > now:  # a 429 seen here: wait it out before asking for a slot
            await asyncio.sleep(self._hold_until - now)
        wait = await asyncio.to_thread(self.reserve, cost)
        if wait > 0:
            await asyncio.sleep(wait)

    async def pace_reply(self) -> None:
        await self._slot(1)

    async def pace(self, cost: int = 1) -> None:
        await self._slot(cost)

    def hold(self, seconds: float) -> None:
        super().hold(seconds)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            self._hold_quietly(seconds)
        else:  # not on the event loop: the pause is already local, the others learn it a moment later
            loop.run_in_executor(None, self._hold_quietly, seconds)

    def _hold_quietly(self, seconds: float) -> None:
        try:
            self._hold_shared(seconds)
        except Exception:  # the local pause holds anyway; the database's pace catches up with the next slot
            import logging

            logging.getLogger(__name__).warning("could not share a 429 pause through the database", exc_info=True)


def pacer_for(engine, rate_per_second: float, burst: int = 1, reply_rate: float = 29.0) -> Pacer:  # type: ignore[no-untyped-def]
    """The bot's pace: in memory on SQLite (one process), in the database on PostgreSQL."""
    if engine is not None and engine.dialect.name == "postgresql":
        return SharedPacer(engine, rate_per_second, burst, reply_rate)
    return Pacer(rate_per_second, burst, reply_rate)
