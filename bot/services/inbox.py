"""The inbox: every update a channel receives is a row before the platform learns it arrived.

Exactly-once handling, at-least-once replies:

1. `receive` stores updates (one transaction per batch) before the channel confirms them
   (Telegram: the next getUpdates offset; a webhook: the HTTP answer). A crash before that
   point makes the platform deliver them again; after it, they are in the database.
2. The core handles a stored update in the transaction that changes the conversation
   state, and keeps its answer in the same row (`claim` / `mark_handled`, called by the
   router); an update already handled is never handled again.
3. The channel sends the stored answer and marks the row replied. After a restart,
   `open_rows` gives what is left: updates not handled yet and answers not sent yet.

Redeliveries are recognised by the channel's update id *and* a fingerprint of what the
update is (the channel's identity of it, e.g. chat and message id, or a hash of the
payload), never by comparing ids: Telegram starts over at a random id after a week
without updates, so a lower or reused id can be a new update. A stored row with the same
id but another fingerprint is such a reused id, and the new update replaces it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, text, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.models import InboxUpdate

log = logging.getLogger(__name__)

KEEP = timedelta(days=14)  # answered updates are kept this long (for redeliveries and inquiries)


@dataclass(frozen=True)
class Received:
    """One update as a channel got it."""

    update_id: int
    chat_id: str
    payload: dict
    identity: str | None = None  # what the update is, for the channel (default: a hash of the payload)


def fingerprint(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:64]


def receive(session: Session, channel: str, updates: list[Received], now: datetime) -> list[InboxUpdate]:
    """Store updates; return the rows that are new (redeliveries of stored updates are left out)."""
    if not updates:
        return []
    stored = {row.update_id: row for row in session.exec(select(InboxUpdate).where(
        InboxUpdate.channel == channel, col(InboxUpdate.update_id).in_([u.update_id for u in updates])))}
    new: list[InboxUpdate] = []
    for update in updates:
        mark = update.identity[:64] if update.identity else fingerprint(update.payload)
        row = stored.get(update.update_id)
        if row is not None:
            if row.fingerprint == mark:
                continue  # the same update again (a crash before the confirmation)
            log.info("update id %s:%s was used before (%s); a new update", channel, update.update_id,
                     row.received_at)
            session.delete(row)
            session.flush()
        stored[update.update_id] = row = InboxUpdate(
            channel=channel, update_id=update.update_id, chat_id=update.chat_id, fingerprint=mark,
            payload=update.payload, received_at=now)
        new.append(row)
    try:
        with session.begin_nested():
            session.add_all(new)
            session.flush()
        return new
    except IntegrityError:  # some were stored concurrently by another worker (a webhook retried)
        pass
    kept = []
    for row in new:
        row = InboxUpdate.model_validate(row.model_dump(exclude={"id"}))
        try:
            with session.begin_nested():
                session.add(row)
                session.flush()
        except IntegrityError:
            continue
        kept.append(row)
    return kept


def open_rows(session: Session, channel: str) -> list[InboxUpdate]:
    """Updates not finished yet (not handled, or answered but the answer not sent), oldest first."""
    return list(session.exec(select(InboxUpdate).where(
        InboxUpdate.channel == channel, col(InboxUpdate.replied_at).is_(None)).order_by(col(InboxUpdate.id))))


def claim(session: Session, inbox_id: int) -> InboxUpdate | None:
    """Lock a stored update for handling in the caller's transaction (row lock on PostgreSQL)."""
    return session.exec(select(InboxUpdate).where(InboxUpdate.id == inbox_id).with_for_update()).first()


CHAT_LOCK = 0x63686174  # "chat": the class of the per-chat advisory locks (PostgreSQL)
TURN_PATIENCE = 10.0  # seconds an update waits for an earlier one of its chat that another worker holds


def take_turn(session: Session, channel: str, chat_id: str, inbox_id: int | None, *,
              patience: float = TURN_PATIENCE, pause: float = 0.02) -> bool:
    """Several workers on one PostgreSQL database: wait, in the caller's transaction, until this
    stored update is its chat's turn: no other worker is handling an update of the chat (a
    transaction-level advisory lock per chat, held until the handling commits) and every update
    of the chat stored before it has been handled (the order they were received in). An earlier
    update still unhandled after `patience` seconds (its worker died) is not waited for longer:
    it is handled after a restart. True when it was this update's turn in time. An update that
    was not stored (`inbox_id` None: Zalo, the playground) only waits for the chat's lock.

    SQLite is one process: its per-chat queues (bot/channels/inbound.py) already keep the order."""
    if session.get_bind().dialect.name != "postgresql":
        return True
    key = zlib.crc32(f"{channel}:{chat_id}".encode()) & 0x7FFFFFFF
    earlier = text("SELECT 1 FROM inbox WHERE channel = :channel AND replied_at IS NULL AND handled_at IS NULL "
                   "AND chat_id = (SELECT chat_id FROM inbox WHERE id = :id) AND id < :id LIMIT 1")
    give_up = time.monotonic() + patience
    while True:
        session.execute(text("SELECT pg_advisory_xact_lock(:c, :k)"), {"c": CHAT_LOCK, "k": key})
        if inbox_id is None or session.execute(earlier, {"channel": channel, "id": inbox_id}).first() is None:
            return True
        if time.monotonic() > give_up:
            log.warning("update %s of %s:%s goes before an earlier one still unhandled", inbox_id, channel, chat_id)
            return False
        session.rollback()  # let the worker holding the earlier update take the chat
        time.sleep(pause)


def mark_handled(session: Session, row: InboxUpdate, reply: dict, now: datetime, error: str | None = None) -> None:
    """Record the answer in the handling transaction (the state change commits with it)."""
    row.handled_at = now
    row.reply = reply
    if error:
        row.error = error[:500]
    session.add(row)


def skip(session: Session, inbox_id: int, now: datetime, error: str) -> None:
    """An update that cannot be handled (unreadable, not for us): done, with the reason kept."""
    row = session.get(InboxUpdate, inbox_id)
    if row is None:
        return
    row.handled_at = row.handled_at or now
    row.replied_at = now
    row.error = error[:500]
    session.add(row)


def mark_replied(session: Session, inbox_id: int, now: datetime, error: str | None = None) -> None:
    """The answer was sent (one UPDATE: this runs after every update)."""
    values: dict[str, object] = {"replied_at": now}
    if error:
        values["error"] = error[:500]
    session.execute(update(InboxUpdate).where(col(InboxUpdate.id) == inbox_id).values(**values)
                    .execution_options(synchronize_session=False))


def prune(session: Session, now: datetime, keep: timedelta = KEEP) -> int:
    """Forget answered updates older than `keep`."""
    result = session.execute(delete(InboxUpdate).where(
        col(InboxUpdate.replied_at).is_not(None), col(InboxUpdate.received_at) < now - keep))
    return result.rowcount or 0
