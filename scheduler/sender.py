"""The outbox sender: drains pending pushes one at a time, paced below the channel's limit.

It never stops on an error. Whatever fails — claiming a row, sending it, marking it (a
database locked by another process for longer than the busy timeout, a Bot API outage,
a bug) — is logged once with the row id, the row is tried again later and the loop goes
on. A mark that cannot be written after a send is kept in memory and written before the
next claim, so a delivered push is not sent again. `congdoan outbox` shows the last error
and the last successful send (the `sender_status` table, written every few seconds).

Errors by kind:
- 429: the whole sender pauses for retry_after (Telegram's limit is per bot), the row
  goes back without losing an attempt;
- network trouble and 5xx (`Transient`): the row is retried with a capped backoff until
  it is `retry_for` old (a day by default), then it fails with the reason kept; the
  sender also pauses briefly, so an outage is not hammered;
- 403, a deleted chat (`Unreachable`): fails at once, the chat is marked unreachable;
- 400 (`Rejected`): fails at once;
- anything else: retried with backoff, failed after `outbox.MAX_ATTEMPTS` tries.

Rows are claimed under a lease (owner + expiry) that is renewed while a send lasts, so
several senders can share one outbox. Expired leases are taken back (the row may have
arrived once); at start, the leases of a dead earlier process on the same host are taken
back at once. Delivered rows lose their payload after `keep_for` (the key stays).

Pacing reserves send slots of 1/rate seconds; a push that takes several Bot API messages
(a document and a long text) reserves as many slots. Other senders of the same bot in
this process (the notices' progress edits, the replies to people) take their slots from
the same bot.pacing.Pacer, so the bot as a whole stays under the limit.

The row's final mark (sent, failed) and the `after_send` hook (notices record their
deliveries) run in one transaction, so a crash cannot leave one without the other.

`deliver(channel, chat_id, payload)` is any channel's delivery function (the caller may
dispatch by channel); it reports trouble with the exceptions of bot.messages.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine
from sqlmodel import Session

from bot.clock import utcnow
from bot.db import session_scope
from bot.pacing import Pacer
from bot.messages import RateLimited, Rejected, Transient, Unreachable
from bot.models import Outbox, SenderStatus
from bot.services import outbox, reminders

log = logging.getLogger(__name__)

Deliver = Callable[[str, str, dict], Awaitable[str | None]]  # (channel, chat_id, payload) → message id
AfterSend = Callable[[Session, Outbox, bool], None]  # hook: (session, row, delivered), in the mark's transaction
Cost = Callable[[dict], int]  # how many platform messages a payload takes

HOST = socket.gethostname()[:60]
_LIVE_OWNERS: set[str] = set()  # senders alive in this process (their leases are never "dead")


def new_owner() -> str:
    """A lease owner id: host, process id and a random part (a restarted process may get the same pid)."""
    return f"{HOST}:{os.getpid()}:{secrets.token_hex(4)}"


def owner_is_dead(owner: str) -> bool:
    """True when `owner` was a sender process on this host that no longer runs."""
    if owner in _LIVE_OWNERS:
        return False
    try:
        host, pid_text, _nonce = owner.rsplit(":", 2)
        pid = int(pid_text)
    except ValueError:
        return False
    if host != HOST:
        return False  # another machine: only its lease's expiry tells
    if pid == os.getpid():
        return True  # an earlier life of this process id (a container restarted), not a live sender here
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OSError):
        return False
    return False


# rows one sender works on at once; a crash may repeat at most this many sends
# (each delivered by the channel but not yet marked sent when the process died)
SEND_WORKERS = 3


class OutboxSender:
    """One paced consumer of the outbox."""

    def __init__(self, engine: Engine, deliver: Deliver, *, rate_per_second: float = 29.0, burst: int = 1,
                 idle_poll: float = 0.25, after_send: AfterSend | None = None, cost: Cost | None = None,
                 retry_for: timedelta = timedelta(days=1), max_backoff: float = 300.0,
                 keep_for: timedelta | None = timedelta(days=30), lease: timedelta = outbox.LEASE,
                 owner: str | None = None, status_every: float = 5.0, workers: int = SEND_WORKERS,
                 pacer: Pacer | None = None, leading: Callable[[], bool] | None = None) -> None:
        self.engine = engine
        self.leading = leading  # several processes: the leader prunes (bot/leadership.py)
        self.deliver = deliver
        self.interval = 1.0 / rate_per_second
        self.burst = max(1, burst)
        self.idle_poll = idle_poll
        self.after_send = after_send
        self.cost = cost
        self.retry_for = retry_for
        self.max_backoff = max_backoff
        self.keep_for = keep_for
        self.lease = lease
        self.owner = owner or new_owner()
        self.status_every = status_every
        self.workers = max(1, workers)
        # the bot's one send pace, shared with the replies to people (bot.pacing)
        self.pacer = pacer or Pacer(rate_per_second, self.burst)
        self._stop = asyncio.Event()
        self.sent = 0
        # the status shown by `congdoan outbox`
        self.started_at = utcnow()
        self.last_sent_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.last_error_row: int | None = None
        self._status_saved = 0.0
        self._status_dirty = True
        # trouble: consecutive failures, what was last logged (so a repeated error is logged once)
        self._failures = 0  # database trouble in a row
        self._send_failures = 0  # platform trouble in a row
        self._logged: set[str] = set()
        self._unsaved: collections.deque[tuple[Callable[..., Any], tuple[Any, ...]]] = collections.deque()
        self._released_at = -1e9
        self._pruned_at = -1e9
        self._prune_cursor = 0
        self._housekeeping_busy = False
        self._flushing = False
        self._work_found: asyncio.Event | None = None
        self._send_lock = asyncio.Lock()
        _LIVE_OWNERS.add(self.owner)

    def take_back_soon(self) -> None:
        """Look for the leases of dead senders at the next step (another process's leadership
        passed here: the leader may have died with rows in hand). Safe from any thread."""
        self._released_at = -1e9

    def stop(self) -> None:
        self._stop.set()
        if self._work_found is not None:
            self._work_found.set()  # wake the waiting workers so that they see the stop

    # ------------------------------------------------------------------ loop
    async def run(self) -> None:
        """Send until stopped; no error ends this loop.

        `workers` rows are worked on at once: while one is being sent, the next is claimed
        and the previous one marked (database work in threads), so a busy machine still
        keeps up with the rate. The requests themselves go one at a time, in their slots.
        """
        try:
            self._work_found = asyncio.Event()
            self._send_lock = asyncio.Lock()
            await asyncio.gather(*(self._work(n) for n in range(self.workers)))
        finally:
            await asyncio.to_thread(self._save_status_quietly)
            _LIVE_OWNERS.discard(self.owner)

    async def _work(self, n: int) -> None:
        """One worker; when there is nothing to send, only the first polls, the others wait for work."""
        found = self._work_found
        assert found is not None
        while not self._stop.is_set():
            try:
                busy = await self._step()
            except Exception as exc:  # a last resort: _step handles what it knows
                self._trouble("the sender loop", exc)
                busy = False
            if busy:
                found.set()
                continue
            found.clear()
            if n == 0:
                await self._wait(self._pause())
            else:
                try:
                    await asyncio.wait_for(found.wait(), max(5.0, self._pause()))
                except asyncio.TimeoutError:
                    pass

    async def drain(self) -> None:
        """Send everything due now, then return (for tools and tests); errors are handled as in run()."""
        self._send_lock = asyncio.Lock()
        while await self._step():
            pass
        await asyncio.to_thread(self._save_status_quietly)

    async def _step(self) -> bool:
        """Send at most one row; False when there was nothing to send (or the database is in trouble)."""
        if not await self._flush_unsaved():
            return False
        await self._housekeeping()
        try:
            row = await asyncio.to_thread(self._claim)
        except Exception as exc:
            self._trouble("claiming the next outbox row", exc)
            return False
        self._database_works()
        if row is None:
            return False
        await self._send(row)
        return True

    def _pause(self) -> float:
        """How long to wait when idle: the poll interval, longer while errors repeat (at most 5 s)."""
        if self._failures == 0 and not self._unsaved:
            return self.idle_poll
        return min(5.0, max(self.idle_poll, 0.25 * 2 ** min(self._failures, 5)))

    async def _wait(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass

    # ----------------------------------------------------------- database work
    def _claim(self) -> Outbox | None:
        """Claim the next due row; a reminder whose unit has reported meanwhile is skipped."""
        while True:
            with session_scope(self.engine) as session:
                row = outbox.claim_next(session, utcnow(), self.owner, self.lease)
                if row is None:
                    return None
                if row.kind == "reminder" and not reminders.still_owes(session, row.payload):
                    outbox.mark_skipped(session, row.id, "the unit has reported")
                    continue
                session.expunge(row)
                return row

    def _close(self, row: Outbox, delivered: bool, fn: Callable[..., object], *args: object) -> None:
        """Mark a row final and run the hook, in one transaction."""
        with session_scope(self.engine) as session:
            fn(session, *args)
            if self.after_send is not None:
                self.after_send(session, row, delivered)

    def _retry(self, row: Outbox, when: datetime, error: str, refund: bool, max_attempts: int | None) -> None:
        with session_scope(self.engine) as session:
            failed = outbox.retry_later(session, row, when, error, refund=refund,
                                        give_up_after=self._give_up_after(row), max_attempts=max_attempts)
            if failed:
                log.error("outbox row %s failed for good after %s attempt(s): %s", row.id, row.attempts, error)
                if self.after_send is not None:
                    self.after_send(session, row, False)

    def _give_up_after(self, row: Outbox) -> datetime:
        created = row.created_at or row.not_before or utcnow()
        if created.tzinfo is None:  # SQLite returns naive UTC
            created = created.replace(tzinfo=utcnow().tzinfo)
        return created + self.retry_for

    def _renew(self, row: Outbox) -> bool:
        with session_scope(self.engine) as session:
            return outbox.renew_lease(session, row.id, self.owner, utcnow() + self.lease)

    def _release(self) -> int:
        with session_scope(self.engine) as session:
            dead = [o for o in outbox.lease_owners(session) if owner_is_dead(o)]
            released = outbox.release_owned(session, dead) + outbox.release_expired(session, utcnow())
        if released:
            log.warning("took back %s outbox row(s) whose sender stopped (they may arrive twice)", released)
        return released

    def _prune(self, chunks: int = 20) -> int:
        """Drop the payload of old finished rows, a chunk per short transaction."""
        assert self.keep_for is not None
        before = utcnow() - self.keep_for
        total = 0
        for _ in range(chunks):
            with session_scope(self.engine) as session:
                n, last = outbox.prune(session, before, utcnow(), after_id=self._prune_cursor)
            total += n
            self._prune_cursor = last
            if last == 0:
                break
        if total:
            log.info("pruned the payload of %s delivered outbox row(s)", total)
        return total

    def _save_status(self) -> None:
        now = utcnow()
        with session_scope(self.engine) as session:
            outbox.save_status(session, SenderStatus(
                owner=self.owner, started_at=self.started_at, heartbeat_at=now, sent=self.sent,
                last_sent_at=self.last_sent_at, last_error=self.last_error, last_error_at=self.last_error_at,
                last_error_row=self.last_error_row))
            if self._status_saved == 0.0:  # first save of this process: forget senders gone for a week
                outbox.forget_senders(session, now - timedelta(days=7))
        self._status_saved = time.monotonic()
        self._status_dirty = False

    def _save_status_quietly(self) -> None:
        try:
            self._save_status()
        except Exception as exc:  # the status is a convenience; the next save will catch up
            log.debug("could not save the sender status: %s", exc)

    async def _housekeeping(self) -> None:
        """Now and then: take back expired leases, save the status, prune old rows (one worker at a time)."""
        if self._housekeeping_busy:
            return
        self._housekeeping_busy = True
        try:
            await self._housekeep()
        finally:
            self._housekeeping_busy = False

    async def _housekeep(self) -> None:
        clock = time.monotonic()
        if clock - self._released_at >= min(30.0, self.lease.total_seconds() / 4):
            try:
                await asyncio.to_thread(self._release)
                self._released_at = clock
            except Exception as exc:
                self._trouble("taking back expired leases", exc)
        if self._status_dirty and clock - self._status_saved >= 1.0 or clock - self._status_saved >= self.status_every:
            await asyncio.to_thread(self._save_status_quietly)
        if self.keep_for is not None and clock - self._pruned_at >= 600.0 and (self.leading is None or self.leading()):
            try:
                await asyncio.to_thread(self._prune)
                # all done: look again in ten minutes; more to do: the next batch in 5 s (sending comes first)
                self._pruned_at = clock if self._prune_cursor == 0 else clock - 595.0
            except Exception as exc:
                self._trouble("pruning delivered rows", exc)

    async def _save(self, fn: Callable[..., Any], *args: Any) -> None:
        """Write a row's outcome; if the database refuses, keep it and write it before the next claim."""
        try:
            await asyncio.to_thread(fn, *args)
        except Exception as exc:
            row = args[0] if args and isinstance(args[0], Outbox) else None
            self._trouble("recording the outcome of an outbox row", exc, row)
            self._unsaved.append((fn, args))

    async def _flush_unsaved(self) -> bool:
        """Write the outcomes kept after a database error, in order; False while the database refuses."""
        if not self._unsaved:
            return True
        if self._flushing:  # another worker is writing them
            return False
        self._flushing = True
        try:
            while self._unsaved:
                fn, args = self._unsaved[0]
                try:
                    await asyncio.to_thread(fn, *args)
                except Exception as exc:
                    row = args[0] if args and isinstance(args[0], Outbox) else None
                    self._trouble("recording the outcome of an outbox row", exc, row)
                    return False
                self._unsaved.popleft()
            return True
        finally:
            self._flushing = False

    # ------------------------------------------------------------- trouble
    def _trouble(self, what: str, exc: BaseException, row: Outbox | None = None, *, sending: bool = False) -> None:
        """Note an error: log it once (repeats of the same error go to debug), keep it for the status.

        `sending` errors (the platform) and the others (the database) are counted apart: the
        first make the sender pause between sends, the others between claims.
        """
        if sending:
            self._send_failures += 1
        else:
            self._failures += 1
        text = f"{type(exc).__name__}: {exc}".replace("\n", " ")[:400]
        where = f" (row {row.id})" if row is not None else ""
        self.last_error = f"{what}{where}: {text}"[:500]
        self.last_error_at = utcnow()
        self.last_error_row = row.id if row is not None else None
        self._status_dirty = True
        signature = f"{what}|{type(exc).__name__}|{str(exc)[:80]}"
        if signature not in self._logged:
            self._logged.add(signature)
            log.warning("outbox sender: %s failed%s: %s — retrying later; repeats are logged at debug level "
                        "until it works again", what, where, text)
        else:
            log.debug("outbox sender: %s failed again%s: %s", what, where, text)

    def _database_works(self) -> None:
        if self._failures:
            log.info("outbox sender: the database works again after %s error(s)", self._failures)
            self._failures = 0
            self._logged = {s for s in self._logged if s.startswith("sending")}

    def _sending_works(self) -> None:
        if self._send_failures:
            log.info("outbox sender: sending works again after %s error(s)", self._send_failures)
            self._send_failures = 0
            self._logged = {s for s in self._logged if not s.startswith("sending")}

    # --------------------------------------------------------------- pacing
    def _cost(self, row: Outbox) -> int:
        if self.cost is None:
            return 1
        try:
            return max(1, int(self.cost(row.payload)))
        except Exception:  # a malformed payload fails at delivery, not here
            return 1

    async def pace(self, cost: int = 1) -> None:
        """Wait for the next free send slot of the bot's pace and reserve `cost` slots from it."""
        await self.pacer.pace(cost)

    def hold(self, seconds: float) -> None:
        """Send nothing for `seconds` (a 429 seen elsewhere applies to the whole bot)."""
        self.pacer.hold(seconds)

    # ---------------------------------------------------------------- send
    async def _deliver_leased(self, row: Outbox) -> str | None:
        """Deliver, renewing the row's lease while the send lasts (a long flood wait, a slow upload)."""
        task = asyncio.ensure_future(self.deliver(row.channel, row.chat_id, row.payload))
        renew_every = max(0.05, self.lease.total_seconds() / 3)
        while True:
            done, _pending = await asyncio.wait({task}, timeout=renew_every)
            if done:
                return task.result()
            try:
                if not await asyncio.to_thread(self._renew, row):
                    log.warning("outbox row %s: the lease was taken back during a long send", row.id)
            except Exception as exc:
                log.debug("outbox row %s: could not renew the lease: %s", row.id, exc)

    async def _send(self, row: Outbox) -> None:
        try:
            async with self._send_lock:  # one request at a time: they reach the platform in their slots' order
                await self.pace(self._cost(row))
                message_id = await self._deliver_leased(row)
        except RateLimited as exc:
            log.warning("rate limited: pausing %.1fs", exc.retry_after)
            self.hold(exc.retry_after)
            when = utcnow() + timedelta(seconds=exc.retry_after)
            await self._save(self._retry, row, when, str(exc), True, None)
        except Unreachable as exc:
            log.info("chat %s:%s is unreachable: %s", row.channel, row.chat_id, exc)
            self._sending_works()  # the platform answered
            await self._save(self._close, row, False, _unreachable, row, str(exc))
        except Rejected as exc:
            log.error("outbox row %s rejected: %s", row.id, exc)
            self._sending_works()
            await self._save(self._close, row, False, outbox.mark_failed, row.id, str(exc))
        except (Transient, OSError) as exc:
            self._trouble(f"sending to {row.channel}", exc, row, sending=True)
            self.hold(min(10.0, 0.25 * 2 ** min(self._send_failures, 6)))  # an outage: don't hammer it
            when = utcnow() + outbox.backoff(row.attempts, self.max_backoff)
            await self._save(self._retry, row, when, str(exc) or type(exc).__name__, False, None)
        except Exception as exc:  # a bug or an unforeseen error: a few tries, then fail with the reason
            self._trouble(f"sending to {row.channel}", exc, row, sending=True)
            when = utcnow() + outbox.backoff(row.attempts, self.max_backoff)
            await self._save(self._retry, row, when, f"{type(exc).__name__}: {exc}", False, outbox.MAX_ATTEMPTS)
        else:
            self.sent += 1
            self.last_sent_at = utcnow()
            self._sending_works()
            await self._save(self._close, row, True, outbox.mark_sent, row.id, message_id, self.last_sent_at)


def _unreachable(session, row: Outbox, error: str) -> None:  # type: ignore[no-untyped-def]
    outbox.mark_failed(session, row.id, f"unreachable: {error}")
    outbox.mark_unreachable(session, row.channel, row.chat_id)
