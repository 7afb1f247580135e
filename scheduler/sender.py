"""The outbox sender: drains pending pushes one at a time, paced below the channel's limit.

Honours 429 retry_after (the whole sender pauses: Telegram's limit is per bot), marks
people who blocked the bot as unreachable instead of retrying forever, retries network
trouble with backoff, records the platform's message id, and after a crash puts the
single row that was in flight back (it may arrive twice; nothing else can).

Pacing reserves send slots of 1/rate seconds; a push that takes several Bot API messages
(a document and a long text) reserves as many slots. Other senders of the same bot in
this process (the notices' progress edits) take their slots through `pace()` too, so the
bot as a whole stays under the limit.

The row's final mark (sent, failed) and the `after_send` hook (notices record their
deliveries) run in one transaction, so a crash cannot leave one without the other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import utcnow
from bot.db import session_scope
from bot.messages import RateLimited, Rejected, Transient, Unreachable
from bot.models import Outbox
from bot.services import outbox, reminders

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, dict], Awaitable[str | None]]  # (channel, chat_id, payload) → message id
AfterSend = Callable[[Session, Outbox, bool], None]  # hook: (session, row, delivered), in the mark's transaction
Cost = Callable[[dict], int]  # how many platform messages a payload takes


class OutboxSender:
    """One paced consumer of the outbox."""

    def __init__(self, engine: Engine, deliver: Deliver, *, rate_per_second: float = 25.0,
                 idle_poll: float = 0.5, after_send: AfterSend | None = None,
                 cost: Cost | None = None) -> None:
        self.engine = engine
        self.deliver = deliver
        self.interval = 1.0 / rate_per_second
        self.idle_poll = idle_poll
        self.after_send = after_send
        self.cost = cost
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

    def _close(self, row: Outbox, delivered: bool, fn: Callable[..., object], *args: object) -> None:
        """Mark a row final and run the hook, in one transaction."""
        with session_scope(self.engine) as session:
            fn(session, *args)
            if self.after_send is not None:
                self.after_send(session, row, delivered)

    def _retry(self, row: Outbox, when, error: str, refund: bool) -> None:  # type: ignore[no-untyped-def]
        with session_scope(self.engine) as session:
            if outbox.retry_later(session, row, when, error, refund=refund) and self.after_send is not None:
                self.after_send(session, row, False)  # out of attempts: it failed for good

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
            await self.pace(self._cost(row))
            await self._send(row)

    async def drain(self) -> None:
        """Send everything due now, then return (for tools and tests)."""
        while (row := await asyncio.to_thread(self._claim)) is not None:
            await self.pace(self._cost(row))
            await self._send(row)

    def _cost(self, row: Outbox) -> int:
        if self.cost is None:
            return 1
        try:
            return max(1, int(self.cost(row.payload)))
        except Exception:  # a malformed payload fails at delivery, not here
            return 1

    async def pace(self, cost: int = 1) -> None:
        """Wait for the next free send slot and reserve `cost` slots from it."""
        now = time.monotonic()
        slot = max(self._next_slot, now)
        self._next_slot = slot + cost * self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (a 429 seen elsewhere applies to the whole bot)."""
        self._next_slot = max(self._next_slot, time.monotonic() + seconds)

    async def _send(self, row: Outbox) -> None:
        try:
            message_id = await self.deliver(row.channel, row.chat_id, row.payload)
        except RateLimited as exc:
            log.warning("rate limited: pausing %.1fs", exc.retry_after)
            self.hold(exc.retry_after)
            when = utcnow() + timedelta(seconds=exc.retry_after)
            await asyncio.to_thread(self._retry, row, when, str(exc), True)
        except Unreachable as exc:
            log.info("chat %s:%s is unreachable: %s", row.channel, row.chat_id, exc)
            await asyncio.to_thread(self._close, row, False, _unreachable, row, str(exc))
        except Rejected as exc:
            log.error("outbox row %s rejected: %s", row.id, exc)
            await asyncio.to_thread(self._close, row, False, outbox.mark_failed, row.id, str(exc))
        except (Transient, OSError) as exc:
            when = utcnow() + outbox.backoff(row.attempts)
            await asyncio.to_thread(self._retry, row, when, str(exc), False)
        else:
            self.sent += 1
            await asyncio.to_thread(self._close, row, True, outbox.mark_sent, row.id, message_id, utcnow())


def _unreachable(session, row: Outbox, error: str) -> None:  # type: ignore[no-untyped-def]
    outbox.mark_failed(session, row.id, f"unreachable: {error}")
    outbox.mark_unreachable(session, row.channel, row.chat_id)
