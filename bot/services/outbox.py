"""The outbox: every push (reminder, digest, notice) is a row first, sent later by one paced sender.

A row's `key` is unique, so enqueuing the same push twice (a planner run twice, a
restart, two workers) stores it once. A sender claims one row at a time under a lease
(owner + expiry; FOR UPDATE SKIP LOCKED on PostgreSQL), so several senders never take the
same row, and after a crash at most the row in flight can be sent twice.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select as sa_select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.models import ChatIdentity, Outbox, OutboxStatus, SenderStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6  # tries of a push that fails in a way nobody foresaw (network trouble has an age limit instead)
LEASE = timedelta(seconds=120)  # a sender renews it while a send lasts; after it, another may take the row


@dataclass(frozen=True)
class Push:
    """One message to enqueue for a person's chat."""

    key: str
    kind: str
    person_id: int
    channel: str
    chat_id: str
    payload: dict
    not_before: datetime


def enqueue(session: Session, pushes: Iterable[Push]) -> int:
    """Insert pushes, ignoring keys already present; return how many were new."""
    rows = [
        dict(key=p.key, kind=p.kind, person_id=p.person_id, channel=p.channel, chat_id=p.chat_id,
             payload=p.payload, status=OutboxStatus.PENDING, attempts=0, not_before=p.not_before,
             created_at=p.not_before)
        for p in pushes
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    # an executemany with RETURNING ("insertmanyvalues"): the statement is compiled once and cached
    # (a VALUES list of 500 rows was compiled anew each time, most of a national planner pass), and
    # the ids returned are the rows actually inserted (executemany's rowcount is -1 on psycopg)
    stmt = insert(Outbox).on_conflict_do_nothing(index_elements=["key"]).returning(Outbox.id)
    connection = session.connection()
    new = 0
    for start in range(0, len(rows), 1000):
        new += len(connection.execute(stmt, rows[start:start + 1000]).all())
    return new


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.exec(select(Outbox.key).where(col(Outbox.key).in_(keys[start:start + 500]))).all())
    return found


def claim_next(session: Session, now: datetime, owner: str = "", lease: timedelta = LEASE) -> Outbox | None:
    """Take the oldest due pending row under a lease for `owner` (the caller commits at once).

    One UPDATE … WHERE id = (oldest due) AND status = 'pending' … RETURNING: on SQLite the
    statement holds the write lock from start to end, and the status check means a row
    another process has just taken is never taken again; on PostgreSQL the subquery
    skips rows locked by other workers (FOR UPDATE SKIP LOCKED).
    """
    due = (
        sa_select(Outbox.id)
        .where(Outbox.status == OutboxStatus.PENDING, Outbox.not_before <= now)
        .order_by(Outbox.not_before, Outbox.id)
        .limit(1)
    )
    if session.execute(due).first() is None:  # nothing due: a read, no write lock taken
        return None
    if session.get_bind().dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    claimed = session.execute(
        update(Outbox)
        .where(Outbox.id == due.scalar_subquery(), Outbox.status == OutboxStatus.PENDING)
        .values(status=OutboxStatus.SENDING, attempts=Outbox.attempts + 1, lease_owner=owner or None,
                lease_until=now + lease)
        .returning(Outbox.id)
        .execution_options(synchronize_session=False)
    ).scalar()
    if claimed is None:
        return None
    return session.get(Outbox, claimed, populate_existing=True)


def renew_lease(session: Session, row_id: int, owner: str, until: datetime) -> bool:
    """Extend a lease still held by `owner` (a long send); False when it is no longer ours."""
    return bool(session.execute(update(Outbox).where(
        Outbox.id == row_id, Outbox.status == OutboxStatus.SENDING, Outbox.lease_owner == owner,
    ).values(lease_until=until)).rowcount)


def mark_sent(session: Session, row_id: int, message_id: str | None, now: datetime) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.SENT, message_id=message_id, sent_at=now, error=None, lease_owner=None,
        lease_until=None))


def mark_skipped(session: Session, row_id: int, reason: str) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.SKIPPED, error=reason[:500], lease_owner=None, lease_until=None))


def mark_failed(session: Session, row_id: int, error: str) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.FAILED, error=error[:500], lease_owner=None, lease_until=None))


def retry_later(session: Session, row: Outbox, when: datetime, error: str, *, refund: bool = False,
                give_up_after: datetime | None = None, max_attempts: int | None = None) -> bool:
    """Put a row back for another try, or fail it for good (then return True).

    It fails when the next try would come after `give_up_after` (the age limit of network
    trouble and rate limits) or, if given, after `max_attempts` tries (errors of unknown
    kind). `refund` gives the attempt back (a rate limit is not the message's fault).
    """
    attempts = row.attempts - 1 if refund else row.attempts
    if (give_up_after is not None and when > give_up_after) or (max_attempts is not None and attempts >= max_attempts):
        mark_failed(session, row.id, error)
        return True
    session.execute(update(Outbox).where(Outbox.id == row.id).values(
        status=OutboxStatus.PENDING, not_before=when, attempts=attempts, error=error[:500], lease_owner=None,
        lease_until=None))
    return False


def mark_unreachable(session: Session, channel: str, chat_id: str) -> None:
    """The person blocked the bot: stop trying their chat until they write again."""
    session.execute(update(ChatIdentity).where(
        ChatIdentity.channel == channel, ChatIdentity.chat_id == chat_id).values(reachable=False))


def release_expired(session: Session, now: datetime) -> int:
    """Rows whose sender stopped renewing its lease go back to pending (they may have arrived once)."""
    return session.execute(update(Outbox).where(
        Outbox.status == OutboxStatus.SENDING,
        or_(Outbox.lease_until.is_(None), Outbox.lease_until < now),  # type: ignore[union-attr]
    ).values(status=OutboxStatus.PENDING, lease_owner=None, lease_until=None)).rowcount or 0


def lease_owners(session: Session) -> list[str]:
    """Who holds the leases of the rows being sent now."""
    return [o for o in session.exec(select(Outbox.lease_owner).where(Outbox.status == OutboxStatus.SENDING)
                                    .distinct()).all() if o]


def release_owned(session: Session, owners: Iterable[str]) -> int:
    """Rows leased by senders known to be dead go back to pending at once."""
    owners = list(owners)
    if not owners:
        return 0
    return session.execute(update(Outbox).where(
        Outbox.status == OutboxStatus.SENDING, col(Outbox.lease_owner).in_(owners),
    ).values(status=OutboxStatus.PENDING, lease_owner=None, lease_until=None)).rowcount or 0


FINISHED = (OutboxStatus.SENT, OutboxStatus.SKIPPED, OutboxStatus.FAILED)


def prune(session: Session, before: datetime, now: datetime, *, after_id: int = 0, chunk: int = 500) -> tuple[int, int]:
    """Drop the payload of up to `chunk` finished rows due before `before`, walking up from `after_id`.

    The row stays: its unique key keeps a push from being queued again, and notices count
    their deliveries and failures (with the reason) through it. Returns (rows pruned, the
    last id looked at; 0 when there is nothing left).
    """
    ids = list(session.exec(
        select(Outbox.id).where(Outbox.id > after_id, col(Outbox.status).in_(FINISHED),
                                Outbox.not_before < before, col(Outbox.pruned_at).is_(None))
        .order_by(Outbox.id).limit(chunk)).all())
    if not ids:
        return 0, 0
    session.execute(update(Outbox).where(col(Outbox.id).in_(ids)).values(payload={}, pruned_at=now))
    return len(ids), ids[-1]


def backoff(attempts: int, cap: float = 300.0) -> timedelta:
    """Wait before the next try: 2, 4, 8 … seconds, never more than `cap`."""
    return timedelta(seconds=min(cap, 2 ** min(attempts, 30)))


@dataclass
class OutboxStats:
    pending: int
    sending: int
    sent: int
    failed: int
    skipped: int
    oldest_pending: Outbox | None
    senders: list[SenderStatus]  # the most recently alive first


def stats(session: Session) -> OutboxStats:
    counts = dict(session.execute(sa_select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    oldest = session.exec(select(Outbox).where(Outbox.status == OutboxStatus.PENDING)
                          .order_by(Outbox.not_before, Outbox.id).limit(1)).first()
    return OutboxStats(
        pending=counts.get(OutboxStatus.PENDING, 0), sending=counts.get(OutboxStatus.SENDING, 0),
        sent=counts.get(OutboxStatus.SENT, 0), failed=counts.get(OutboxStatus.FAILED, 0),
        skipped=counts.get(OutboxStatus.SKIPPED, 0),
        oldest_pending=oldest,
        senders=list(session.exec(select(SenderStatus).order_by(col(SenderStatus.heartbeat_at).desc()).limit(5)).all()),
    )


def save_status(session: Session, status: SenderStatus) -> None:
    """Write one sender's status row (insert or replace)."""
    session.merge(status)


def forget_senders(session: Session, before: datetime) -> int:
    """Status rows of senders not seen since `before` go (each process start makes one)."""
    return session.execute(delete(SenderStatus).where(SenderStatus.heartbeat_at < before)).rowcount or 0
