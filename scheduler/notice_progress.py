"""Progress of notices being sent: every few seconds, edit each sender's progress message in place.

The progress message itself and the final report are outbox pushes (sent once, paced,
resumed after a crash); this loop only edits the progress message ("Đã gửi 340/812"),
only when its text changes (Telegram refuses an edit that changes nothing), and takes a
send slot from the outbox sender for every edit so the bot stays under its rate limit.
When nothing is pending it shows the final figures and the service queues the report.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy.engine import Engine

from bot.clock import utcnow
from bot.db import session_scope
from bot.messages import DeliveryError, RateLimited
from bot.services import notices

log = logging.getLogger(__name__)

Edit = Callable[[str, str, str, str], Awaitable[None]]  # (channel, chat_id, message_id, text)
Pace = Callable[[], Awaitable[None]]


class NoticeProgress:
    """The periodic job that keeps progress messages current."""

    def __init__(self, engine: Engine, edit: Edit, *, pace: Pace | None = None,
                 hold: Callable[[float], None] | None = None, interval: float = 3.0,
                 leading: Callable[[], bool] | None = None) -> None:
        self.engine = engine
        self.leading = leading  # several processes: the leader edits (bot/leadership.py)
        self.edit = edit
        self.pace = pace
        self.hold = hold
        self.interval = interval
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def _work(self) -> list[notices.ProgressEdit]:
        with session_scope(self.engine) as session:
            return notices.progress_work(session, utcnow())

    def _shown(self, notice_id: int, text: str) -> None:
        with session_scope(self.engine) as session:
            notices.progress_shown(session, notice_id, text)

    async def tick(self) -> int:
        """One round of edits (and finishing what they completed); returns how many were made."""
        if self.leading is not None and not self.leading():
            return 0
        edits = await asyncio.to_thread(self._work)
        done = await self._apply(edits)
        if any(e.final for e in edits):  # the final figures are shown: finish now, not a tick later
            await asyncio.to_thread(self._work)
        return done

    async def _apply(self, edits: list[notices.ProgressEdit]) -> int:
        done = 0
        for edit in edits:
            if self.pace is not None:
                await self.pace()
            try:
                await self.edit(edit.channel, edit.chat_id, edit.message_id, edit.text)
            except RateLimited as exc:
                if self.hold is not None:
                    self.hold(exc.retry_after)
                return done
            except DeliveryError as exc:  # the message is gone or the chat blocked: stop editing it
                log.info("progress message of notice %s not edited: %s", edit.notice_id, exc)
            await asyncio.to_thread(self._shown, edit.notice_id, edit.text)
            done += 1
        return done

    async def run(self) -> None:
        """Tick until stopped."""
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next tick tries again
                log.exception("notice progress failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
