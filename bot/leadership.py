"""Which process runs the jobs that must run once: several `congdoan run` on one PostgreSQL database.

SQLite is single-process (a lock file refuses a second `congdoan run`), so there the one
process always leads. On PostgreSQL any number of processes may share the database:

- every process answers the updates it receives (webhooks), a chat's updates one at a time
  and in the order they were stored whichever process got them (a per-chat advisory lock,
  bot/services/inbox.take_turn; Zalo's updates are not stored in the inbox, so for them
  only "one at a time" holds, and a redelivery to another process is not recognised);
- every process drains the outbox (rows are claimed under a lease with FOR UPDATE SKIP
  LOCKED, bot/services/outbox.py) and takes its send slots from one pace kept in the
  database (bot.pacing.SharedPacer);
- one process, the leader, runs the singleton jobs: the reminder planner, the queueing of
  large notices, the notices' progress edits, the pruning of delivered pushes, and the long
  polling of the platforms (Telegram allows one getUpdates consumer per bot).

The leader holds a session-level PostgreSQL advisory lock on a connection of its own. When
the process dies (even SIGKILL) its connection closes and PostgreSQL releases the lock; the
others try to take it every `interval` seconds, so one of them leads again within that
time. A leader cut off from the database (its connection broken, or killed by the server's
`idle_session_timeout` set on that connection) notices at its next check and steps down.
Each job run also takes a transaction-level advisory lock of its own (`job_lock`), so two
runs of one job never overlap even while leadership changes hands.

pgqueuer and procrastinate were considered: both are job queues (jobs as rows, workers
polling or LISTENing), which would replace the outbox and its leases that already exist
and are tested; what is missing here is only "one of N runs this periodic job", which one
advisory lock gives without a new dependency or schema.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

log = logging.getLogger(__name__)

LEADER_KEY = 0x636F6E67  # "cong": the advisory lock key of leadership (class id of the two-int form below)


def lock_key(name: str) -> int:
    """A stable 31-bit key for a job's transaction-level advisory lock."""
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def is_postgres(engine_or_session: Engine | Session | Connection) -> bool:
    bind = engine_or_session.get_bind() if isinstance(engine_or_session, Session) else engine_or_session
    return bind.dialect.name == "postgresql"


def job_lock(session: Session, name: str, *args: int) -> bool:
    """Take a job's lock for the rest of the caller's transaction; False when another run holds it.

    On SQLite (one process) it is always free.
    """
    if not is_postgres(session):
        return True
    key = lock_key(":".join([name, *map(str, args)]))
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:c, :k)"),
                                {"c": LEADER_KEY, "k": key}).scalar())


class Leadership:
    """This process's claim to run the singleton jobs (always granted on SQLite)."""

    def __init__(self, engine: Engine, *, interval: float = 5.0, name: str = "leader",
                 idle_timeout: float | None = None) -> None:
        self.engine = engine
        self.interval = interval
        self.key = lock_key(name)
        # the server ends the lock's session when the leader stops checking for this long
        self.idle_timeout = idle_timeout if idle_timeout is not None else max(30.0, 6 * interval)
        self.shared = is_postgres(engine)
        self._leading = not self.shared
        self._conn: Connection | None = None
        self._stop = asyncio.Event()
        self._listeners: list[Callable[[bool], None]] = []

    @property
    def leading(self) -> bool:
        return self._leading

    def __call__(self) -> bool:
        return self._leading

    def on_change(self, listener: Callable[[bool], None]) -> None:
        """Call `listener(leading)` whenever this process gains or loses leadership."""
        self._listeners.append(listener)

    def _set(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        log.info("this process %s", "leads: it runs the planner, notice queueing, pruning and polling"
                 if leading else "no longer leads")
        for listener in list(self._listeners):
            try:
                listener(leading)
            except Exception:  # a listener's trouble is not leadership's
                log.exception("a leadership listener failed")

    def check(self) -> bool:
        """Take or keep leadership (blocking; a few milliseconds); returns whether this process leads."""
        if not self.shared:
            return True
        try:
            if self._conn is None:
                conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                try:
                    try:  # PostgreSQL 14 and later
                        conn.execute(text(f"SET idle_session_timeout = {int(self.idle_timeout * 1000)}"))
                    except Exception as exc:
                        log.debug("no idle_session_timeout: %s", exc)
                    got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:c, :k)"),
                                            {"c": LEADER_KEY, "k": self.key}).scalar())
                except Exception:
                    conn.invalidate()
                    conn.close()
                    raise
                if got:
                    self._conn = conn
                else:
                    conn.close()
            else:
                self._conn.execute(text("SELECT 1"))  # the session (and so the lock) still lives
        except Exception as exc:
            log.warning("leadership check failed: %s", exc)
            if self._conn is not None:
                try:
                    self._conn.invalidate()
                    self._conn.close()
                except Exception:
                    pass
                self._conn = None
        self._set(self._conn is not None)
        return self._leading

    def release(self) -> None:
        """Give leadership up (at shutdown): another process takes it at its next check."""
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.execute(text("SELECT pg_advisory_unlock(:c, :k)"), {"c": LEADER_KEY, "k": self.key})
            except Exception:
                pass
            finally:
                conn.close()
        if self.shared:
            self._set(False)

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        """Check every `interval` seconds until stopped, then give leadership up."""
        try:
            while not self._stop.is_set():
                await asyncio.to_thread(self.check)
                try:
                    await asyncio.wait_for(self._stop.wait(), self.interval)
                except asyncio.TimeoutError:
                    pass
        finally:
            await asyncio.to_thread(self.release)

    async def wait_leading(self, stop: asyncio.Event | None = None) -> bool:
        """Wait until this process leads (True) or `stop` is set (False)."""
        while not self._leading:
            if stop is not None and stop.is_set():
                return False
            await asyncio.sleep(min(0.25, self.interval))
        return True
