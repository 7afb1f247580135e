"""The outbox sender: drains pending pushes one at a time, paced below the channel's limit.

Honours 429 retry_after (the whole sender pauses: Telegram's limit is per bot), marks
people who blocked the bot as unreachable instead of retrying forever, retries network
trouble with backoff, records the platform's message id, and after a crash puts the
single row that was in flight back (it may arrive twice; nothing else can).
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine

from bot.clock import utcnow
from bot.db import session_scope
from bot.messages import RateLimited, Rejected, Transient, Unreachable
from bot.models import Outbox
from bot.services import outbox, reminders

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, dict], Awaitable[str | None]]  # (channel, chat_id, payload) → message id
AfterSend = Callable[[Engine, Outbox, bool], None]  # hook: (engine, row, delivered) for notices


class OutboxSender:
    """One paced consumer of the outbox."""

    def __init__(self, engine: Engine, deliver: Deliver, *, rate_per_second: float = 25.0,
                 idle_poll: float = 0.5, after_send: AfterSend | None = None) -> None:
        self.engine = engine
        self.deliver = deliver
        self.interval = 1.0 / rate_per_second
        self.idle_poll = idle_poll
        self.after_send = after_send
        self._next_slot = 0.0
        self._stop = asyncio.Event()
        self.sent = 0

    def stop(self) -> None:
        self._stop.set()

    def _claim(self) -> Outbox | None:
        """Claim the next due row; a reminder whose unit has reported meanwhile is skipped."""
        while True:
            with session_scope(self.engine) as session:
                row = outbox.claim_next(session, utcnow())
                if row is None:
                    return None
                if row.kind == "reminder" and not reminders.still_owes(session, row.payload):
                    outbox.mark_skipped(session, row.id, "the unit has reported")
                    continue
                session.expunge(row)
                return row

    def _finish(self, fn: Callable[..., object], *args: object, **kwargs: object) -> None:
        with session_scope(self.engine) as session:
            fn(session, *args, **kwargs)

    async def run(self) -> None:
        """Send until stopped."""
        await asyncio.to_thread(self._finish, outbox.release_in_flight)
        while not self._stop.is_set():
            row = await asyncio.to_thread(self._claim)
            if row is None:
                try:
                    await asyncio.wait_for(self._stop.wait(), self.idle_poll)
                except asyncio.TimeoutError:
                    pass
                continue
            await self._pace()
            await self._send(row)

    async def drain(self) -> None:
        """Send everything due now, then return (for tools and tests)."""
        while (row := await asyncio.to_thread(self._claim)) is not None:
            await self._pace()
            await self._send(row)

    async def _pace(self) -> None:
        wait = self._next_slot - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        self._next_slot = max(self._next_slot, time.monotonic()) + self.interval

    async def _send(self, row: Outbox) -> None:
        delivered = False
        try:
            message_id = await self.deliver(row.channel, row.chat_id, row.payload)
        except RateLimited as exc:
            log.warning("rate limited: pausing %.1fs", exc.retry_after)
            self._next_slot = time.monotonic() + exc.retry_after
            when = utcnow() + timedelta(seconds=exc.retry_after)
            await asyncio.to_thread(self._finish, outbox.retry_later, row, when, str(exc), refund=True)
            return
        except Unreachable as exc:
            log.info("chat %s:%s is unreachable: %s", row.channel, row.chat_id, exc)
            await asyncio.to_thread(self._finish, _unreachable, row, str(exc))
        except Rejected as exc:
            log.error("outbox row %s rejected: %s", row.id, exc)
            await asyncio.to_thread(self._finish, outbox.mark_failed, row.id, str(exc))
        except (Transient, OSError) as exc:
            when = utcnow() + outbox.backoff(row.attempts)
            await asyncio.to_thread(self._finish, outbox.retry_later, row, when, str(exc))
            return
        else:
            delivered = True
            self.sent += 1
            await asyncio.to_thread(self._finish, outbox.mark_sent, row.id, message_id, utcnow())
        if self.after_send is not None:
            await asyncio.to_thread(self.after_send, self.engine, row, delivered)


def _unreachable(session, row: Outbox, error: str) -> None:  # type: ignore[no-untyped-def]
    outbox.mark_failed(session, row.id, f"unreachable: {error}")
    outbox.mark_unreachable(session, row.channel, row.chat_id)
