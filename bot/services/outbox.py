"""The outbox: every push (reminder, digest, notice) is a row first, sent later by one paced sender.

A row's `key` is unique, so enqueuing the same push twice (a planner run twice, a
restart, two workers) stores it once. The sender claims one row at a time (FOR UPDATE
SKIP LOCKED on PostgreSQL), so at most the row in flight can be sent twice after a crash.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select as sa_select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from bot.models import ChatIdentity, Outbox, OutboxStatus

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 6


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
    new = 0
    for start in range(0, len(rows), 500):
        stmt = insert(Outbox).values(rows[start:start + 500]).on_conflict_do_nothing(index_elements=["key"])
        new += session.execute(stmt).rowcount or 0
    return new


def existing_keys(session: Session, keys: list[str]) -> set[str]:
    found: set[str] = set()
    for start in range(0, len(keys), 500):
        found.update(session.exec(select(Outbox.key).where(col(Outbox.key).in_(keys[start:start + 500]))).all())
    return found


def claim_next(session: Session, now: datetime) -> Outbox | None:
    """Take the oldest due pending row and mark it as being sent (caller commits at once)."""
    query = (
        select(Outbox)
        .where(Outbox.status == OutboxStatus.PENDING, Outbox.not_before <= now)
        .order_by(Outbox.not_before, Outbox.id)
        .limit(1)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    row = session.exec(query).first()
    if row is None:
        return None
    row.status = OutboxStatus.SENDING
    row.attempts += 1
    session.add(row)
    session.flush()  # now: the caller may expunge the row before committing
    return row


def mark_sent(session: Session, row_id: int, message_id: str | None, now: datetime) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.SENT, message_id=message_id, sent_at=now, error=None))


def mark_skipped(session: Session, row_id: int, reason: str) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.SKIPPED, error=reason[:500]))


def mark_failed(session: Session, row_id: int, error: str) -> None:
    session.execute(update(Outbox).where(Outbox.id == row_id).values(
        status=OutboxStatus.FAILED, error=error[:500]))


def retry_later(session: Session, row: Outbox, when: datetime, error: str, *, refund: bool = False) -> bool:
    """Put a row back for another try, or fail it after MAX_ATTEMPTS (then return True).

    `refund` gives the attempt back (a rate limit is not the message's fault).
    """
    attempts = row.attempts - 1 if refund else row.attempts
    if attempts >= MAX_ATTEMPTS:
        mark_failed(session, row.id, error)
        return True
    session.execute(update(Outbox).where(Outbox.id == row.id).values(
        status=OutboxStatus.PENDING, not_before=when, attempts=attempts, error=error[:500]))
    return False


def mark_unreachable(session: Session, channel: str, chat_id: str) -> None:
    """The person blocked the bot: stop trying their chat until they write again."""
    session.execute(update(ChatIdentity).where(
        ChatIdentity.channel == channel, ChatIdentity.chat_id == chat_id).values(reachable=False))


def release_in_flight(session: Session) -> int:
    """After a crash: rows caught mid-send go back to pending (they may have arrived; at most one)."""
    return session.execute(update(Outbox).where(Outbox.status == OutboxStatus.SENDING)
                           .values(status=OutboxStatus.PENDING)).rowcount or 0


def backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(300, 2 ** attempts))


@dataclass
class OutboxStats:
    pending: int
    sending: int
    sent: int
    failed: int
    skipped: int
    oldest_pending: Outbox | None


def stats(session: Session) -> OutboxStats:
    counts = dict(session.execute(sa_select(Outbox.status, func.count()).group_by(Outbox.status)).all())
    oldest = session.exec(select(Outbox).where(Outbox.status == OutboxStatus.PENDING)
                          .order_by(Outbox.not_before, Outbox.id).limit(1)).first()
    return OutboxStats(
        pending=counts.get(OutboxStatus.PENDING, 0), sending=counts.get(OutboxStatus.SENDING, 0),
        sent=counts.get(OutboxStatus.SENT, 0), failed=counts.get(OutboxStatus.FAILED, 0),
        skipped=counts.get(OutboxStatus.SKIPPED, 0),
        oldest_pending=oldest,
    )
