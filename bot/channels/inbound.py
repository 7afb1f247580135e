"""Stored updates on their way to the core and back, one chat at a time (any channel).

A channel stores what it receives (`store`, before confirming it to the platform) and
gives a `process` coroutine that handles one stored update: read it, call the core (which
marks it handled in its own transaction), send the answer, then `done`. Updates of one
chat go through strictly in order, different chats concurrently, and a chat with a long
backlog never holds up the others: each chat has its own queue and one worker.

After a restart `resume` queues what the inbox still holds: updates never handled, and
answers handled but not (completely) sent, which are sent again from the stored reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Engine

from bot.clock import utcnow
from bot.db import session_scope
from bot.services import inbox
from bot.services.inbox import Received

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    """One stored update to process."""

    inbox_id: int
    chat_id: str
    payload: dict
    reply: dict | None = None  # handled before a restart: only the answer is left to send


Process = Callable[[Job], Awaitable[None]]


class Inbound:
    """Per-chat queues in front of a channel's `process` coroutine."""

    def __init__(self, engine: Engine, channel: str, process: Process, executor: Executor | None = None) -> None:
        self.engine = engine
        # the database work runs where the core runs: with SQLite's one writer, a separate
        # thread would wait on the lock behind a busy core and be starved for seconds
        self.executor = executor
        self.channel = channel
        self.process = process
        self._queues: dict[str, asyncio.Queue[Job]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._queued: set[int] = set()  # inbox ids queued or in hand here (a resume does not queue them twice)

    # ---- database -----------------------------------------------------------

    def _store(self, received: list[Received]) -> list[Job]:
        with session_scope(self.engine) as session:
            rows = inbox.receive(session, self.channel, received, utcnow())
            return [Job(r.id, r.chat_id, r.payload) for r in rows if r.id is not None]

    def _open(self) -> list[Job]:
        try:
            with session_scope(self.engine) as session:
                inbox.prune(session, utcnow())
        except Exception as exc:  # housekeeping only: try again at the next start
            log.warning("could not prune the inbox: %s", exc)
        with session_scope(self.engine) as session:
            return [Job(r.id, r.chat_id, r.payload, r.reply if r.handled_at is not None else None)
                    for r in inbox.open_rows(session, self.channel) if r.id is not None]

    def _finish(self, job: Job, error: str | None, skipped: bool) -> None:
        with session_scope(self.engine) as session:
            if skipped:
                inbox.skip(session, job.inbox_id, utcnow(), error or "skipped")
            else:
                inbox.mark_replied(session, job.inbox_id, utcnow(), error)

    async def _run(self, fn: Callable[..., Any], *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn, *args)

    async def store(self, received: list[Received]) -> list[Job]:
        """Store a batch (one transaction) and queue what is new; raises if it could not be stored."""
        jobs = await self._run(self._store, received) if received else []
        for job in jobs:
            self.submit(job)
        return jobs

    async def resume(self) -> int:
        """Queue what a previous run left: unhandled updates and unsent answers."""
        jobs = await self._run(self._open)
        for job in jobs:
            self.submit(job)
        if jobs:
            log.info("resuming %d stored update(s) of %s", len(jobs), self.channel)
        return len(jobs)

    async def done(self, job: Job, error: str | None = None) -> None:
        """The answer was sent (or could not be, for good: `error`)."""
        await self._run(self._finish, job, error, False)

    async def skip(self, job: Job, error: str) -> None:
        """Nothing to handle (unreadable, or not for the bot)."""
        await self._run(self._finish, job, error, True)

    # ---- queues -------------------------------------------------------------

    def submit(self, job: Job) -> None:
        if job.inbox_id in self._queued:
            return
        self._queued.add(job.inbox_id)
        queue = self._queues.get(job.chat_id)
        if queue is None:
            queue = self._queues[job.chat_id] = asyncio.Queue()
            self._workers[job.chat_id] = asyncio.create_task(self._work(job.chat_id, queue),
                                                             name=f"chat-{job.chat_id}")
        queue.put_nowait(job)

    async def _work(self, chat_id: str, queue: asyncio.Queue[Job]) -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                del self._queues[chat_id]
                del self._workers[chat_id]
                return
            try:
                await self.process(job)
            except asyncio.CancelledError:
                raise
            except Exception:  # the row stays open and is tried again after a restart
                log.exception("processing stored update %s failed", job.inbox_id)
            finally:
                self._queued.discard(job.inbox_id)

    @property
    def busy(self) -> int:
        return sum(q.qsize() for q in self._queues.values()) + len(self._workers)

    async def join(self, timeout: float) -> None:
        """Let the chats finish what they are doing (at shutdown), then cancel the rest."""
        workers = list(self._workers.values())
        if not workers:
            return
        _done, pending = await asyncio.wait(workers, timeout=timeout)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1)
