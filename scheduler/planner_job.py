"""The planner job: APScheduler runs the reminder planner every minute inside the bot process.

Schedules are data (rounds' reminder plans); the scheduler only asks "what is due as of
now?" and the planner enqueues outbox rows under unique keys, so a missed tick is caught
up by the next one and nothing is sent twice. Jobs are never pickled into a job store.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from collections.abc import Callable

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import LOCAL_TZ, utcnow
from bot.db import session_scope
from bot.leadership import job_lock
from bot.services import reminders

log = logging.getLogger(__name__)


def plan_once(engine: Engine, now: datetime | None = None, chunk: int = reminders.PLAN_CHUNK) -> int:
    """Run the planner as of `now` (default: now); return how many pushes it enqueued (0 when
    another process's run is under way).

    Each chunk of pushes is inserted and committed on its own (a short write transaction, and
    memory bounded by the chunk, whatever the number of units); the job's lock is held by a
    session of its own for the whole run, so two runs never interleave their chunks.
    """
    with Session(engine) as holder:
        if not job_lock(holder, "planner"):  # another process's run is under way (PostgreSQL)
            log.info("planner: another run is under way; skipped")
            return 0
        try:
            with session_scope(engine) as session:
                new = reminders.run_planner(session, now or utcnow(), chunk=chunk, after_chunk=session.commit)
        finally:
            holder.rollback()
    if new:
        log.info("planner enqueued %d pushes", new)
    return new


async def _tick(engine: Engine, leading: Callable[[], bool] | None = None) -> None:
    if leading is not None and not leading():  # several processes: the leader plans (bot/leadership.py)
        return
    try:
        await asyncio.to_thread(plan_once, engine)
    except Exception:  # the next tick tries again
        log.exception("planner run failed")


def start_planner_job(engine: Engine, interval_seconds: int,
                      leading: Callable[[], bool] | None = None) -> AsyncIOScheduler:
    """Start the planner job on the running event loop."""
    scheduler = AsyncIOScheduler(timezone=LOCAL_TZ)
    scheduler.add_job(_tick, "interval", args=[engine, leading], seconds=interval_seconds, id="planner",
                      next_run_time=utcnow(), max_instances=1, coalesce=True, misfire_grace_time=interval_seconds)
    scheduler.start()
    return scheduler
