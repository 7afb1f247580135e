"""Queueing large notices in the background: "Gửi" only marks a notice as queuing; this loop
inserts its recipients' outbox rows a chunk at a time, each chunk its own short transaction
(so the database's write lock is never held for long and chat replies go on meanwhile).

A crash between chunks loses nothing: the next chunk starts after the last recipient
recorded, and outbox keys are unique, so a chunk repeated after a crash queues nothing twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from sqlalchemy.engine import Engine

from bot.db import session_scope
from bot.leadership import job_lock
from bot.services import notices
from bot.services.notices.sending import FILL_CHUNK

log = logging.getLogger(__name__)


class NoticeQueuer:
    """The background job that fills queuing notices, chunk by chunk."""

    def __init__(self, engine: Engine, *, interval: float = 1.0, chunk: int = FILL_CHUNK,
                 leading: Callable[[], bool] | None = None) -> None:
        self.engine = engine
        self.leading = leading  # several processes: the leader queues (bot/leadership.py)
        self.interval = interval
        self.chunk = chunk
        self._stop = asyncio.Event()

    def stop(self) -> None:
        self._stop.set()

    def _pending(self) -> list[int]:
        with session_scope(self.engine) as session:
            return notices.queuing_notices(session)

    def _fill(self, notice_id: int) -> bool:
        with session_scope(self.engine) as session:
            if not job_lock(session, "notice-queue", notice_id):  # another process fills it now
                return True
            return notices.fill_chunk(session, notice_id, self.chunk)

    async def tick(self) -> int:
        """Fill every queuing notice to the end; return how many chunks were written."""
        chunks = 0
        if self.leading is not None and not self.leading():
            return 0
        for notice_id in await asyncio.to_thread(self._pending):
            while not self._stop.is_set():
                done = await asyncio.to_thread(self._fill, notice_id)
                if done:
                    break
                chunks += 1
                await asyncio.sleep(0)  # let chat updates and the sender run between chunks
        return chunks

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.tick()
            except Exception:  # the next tick resumes where this one stopped
                log.exception("queueing notices failed")
            try:
                await asyncio.wait_for(self._stop.wait(), self.interval)
            except asyncio.TimeoutError:
                pass
