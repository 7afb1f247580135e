"""Send once: flip the draft to queued and enqueue every push; record deliveries; resend to the unacknowledged.

Outbox keys: ntc|<notice>|<person> (the notice), ntc|<notice>|<person>|r<n> (n-th resend)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, insert, select as sa_select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from bot.limits import limits_of
from bot.i18n import use_language
from bot.messages import Reply, reply_to_json
from bot.models import Notice, NoticeDelivery, Outbox, OutboxStatus, Person
from bot.services import audit, outbox
from bot.services.notices.audience import Recipient, Within, recipients_select
from bot.services.notices.common import NoticeStatus, chunks
from bot.services.notices.compose import render, sender_unit_name, sending_time
from bot.services.notices.progress import DeliveryCounts, preparing_text, progress_push_key, progress_text
from bot.services.notices.tracking import not_acknowledged


@dataclass
class Queued:
    notice: Notice
    total: int
    reachable: int
    when: datetime


def _leave_draft(session: Session, notice_id: int, sender: Person, status: str, now: datetime) -> Notice | None:
    """Move the sender's draft to `status` exactly once (a second press finds it gone): the notice, or None."""
    flipped = session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.DRAFT,
                             Notice.sender_person_id == sender.id)
        .values(status=status, queued_at=now)
    ).rowcount
    if flipped != 1:
        return None
    notice = session.get(Notice, notice_id)
    if notice is not None:
        session.refresh(notice)
    return notice


def queue(session: Session, notice_id: int, sender: Person, recipients: list[Recipient], *,
          progress_to: tuple[str, str] | None, now: datetime, actor: str = "") -> Queued | None:
    """Flip the draft to queued and enqueue everything, once; None if it was not a draft any more."""
    notice = _leave_draft(session, notice_id, sender, NoticeStatus.QUEUED, now)
    if notice is None:
        return None
    when = sending_time(notice, now)
    unit_name = sender_unit_name(session, notice)
    reachable = [r for r in recipients if r.reachable]
    pushes: list[outbox.Push] = []
    if progress_to is not None:
        with use_language(sender.language):
            text = progress_text(notice, DeliveryCounts(total=len(recipients), failed=len(recipients) - len(reachable)))
        notice.progress_text = text
        pushes.append(outbox.Push(key=progress_push_key(notice.id), kind="notice_progress", person_id=sender.id,
                                  channel=progress_to[0], chat_id=progress_to[1], payload=reply_to_json(Reply(text=text)),
                                  not_before=when))
    rendered: dict[tuple[str | None, bool], dict] = {}
    for r in reachable:
        lang = (r.person.language, limits_of(r.identity.channel).buttons)  # type: ignore[union-attr]
        if lang not in rendered:
            rendered[lang] = render(notice, unit_name, when, lang[0], buttons=lang[1])
        pushes.append(outbox.Push(key=f"ntc|{notice.id}|{r.person.id}", kind="notice", person_id=r.person.id,
                                  channel=r.identity.channel, chat_id=r.identity.chat_id,  # type: ignore[union-attr]
                                  payload=rendered[lang], not_before=when))
    outbox.enqueue(session, pushes)
    outbox_ids = _outbox_ids(session, [p.key for p in pushes[1 if progress_to else 0:]])
    rows = [dict(notice_id=notice.id, person_id=r.person.id,
                 outbox_id=outbox_ids.get(f"ntc|{notice.id}|{r.person.id}"),
                 failed=not r.reachable, delivered_at=None, acked_at=None)
            for r in recipients]
    for chunk in chunks(rows):
        session.execute(insert(NoticeDelivery), chunk)
    session.add(notice)
    audit.record(session, "notice.send", entity="notice", entity_id=notice.id, person_id=sender.id, actor=actor,
                 detail={"reference": notice.reference, "audience": notice.audience,
                         "recipients": len(recipients), "reachable": len(reachable)})
    return Queued(notice, len(recipients), len(reachable), when)


INLINE_LIMIT = 300  # recipients queued inside the chat update; above, a background job queues them
FILL_CHUNK = 1000  # recipients queued per short transaction by the background job


def start_queuing(session: Session, notice_id: int, sender: Person, *, total: int, reachable: int,
                  progress_to: tuple[str, str] | None, now: datetime, actor: str = "") -> Queued | None:
    """"Gửi" on a large notice: mark it queuing and queue only the progress message (a few statements);
    `fill_chunk`, called by a background job, queues the recipients. None if it was not a draft any more."""
    notice = _leave_draft(session, notice_id, sender, NoticeStatus.QUEUING, now)
    if notice is None:
        return None
    when = sending_time(notice, now)
    if progress_to is not None:
        with use_language(sender.language):
            text = preparing_text(notice, 0, total)
        notice.progress_text = text
        outbox.enqueue(session, [outbox.Push(
            key=progress_push_key(notice.id), kind="notice_progress", person_id=sender.id, channel=progress_to[0],
            chat_id=progress_to[1], payload=reply_to_json(Reply(text=text)), not_before=now)])
    session.add(notice)
    audit.record(session, "notice.send", entity="notice", entity_id=notice.id, person_id=sender.id, actor=actor,
                 detail={"reference": notice.reference, "audience": notice.audience,
                         "recipients": total, "reachable": reachable, "background": True})
    return Queued(notice, total, reachable, when)


def queuing_notices(session: Session) -> list[int]:
    return list(session.execute(sa_select(Notice.id).where(Notice.status == NoticeStatus.QUEUING)
                                .order_by(Notice.id)).scalars())


def fill_chunk(session: Session, notice_id: int, size: int = FILL_CHUNK) -> bool:
    """Queue the next `size` recipients of a queuing notice (by person id, after those already
    recorded, so a crash resumes where it stopped); True once every recipient is queued and
    the notice is flipped to queued. Each call is meant to be its own short transaction."""
    notice = session.get(Notice, notice_id)
    if notice is None or notice.status != NoticeStatus.QUEUING:
        return True
    sender = session.get(Person, notice.sender_person_id) if notice.sender_person_id else None
    query = recipients_select(sender, notice.audience or {}, by_person=True) if sender is not None else None
    after = session.execute(sa_select(func.max(NoticeDelivery.person_id))
                            .where(NoticeDelivery.notice_id == notice_id)).scalar() or 0
    rows: list = []
    if query is not None and sender is not None:
        within = Within(session, sender)
        while not rows:  # the next `size` people in id order, kept if in the sender's subtree
            page = session.execute(query.where(Person.id > after).order_by(Person.id).limit(size)).all()
            rows = [row[:5] for row in page if within(row[5], row[6])]
            if len(page) < size:
                break
            after = page[-1][0]
    if not rows:
        session.execute(update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.QUEUING)
                        .values(status=NoticeStatus.QUEUED))
        return True
    when = sending_time(notice, notice.queued_at or notice.created_at)
    unit_name = sender_unit_name(session, notice)
    rendered: dict[tuple[str | None, bool], dict] = {}
    pushes = []
    for person_id, lang, channel, chat_id, reachable in rows:
        if not (channel is not None and reachable):
            continue
        look = (lang, limits_of(channel).buttons)
        if look not in rendered:
            rendered[look] = render(notice, unit_name, when, lang, buttons=look[1])
        pushes.append(outbox.Push(key=f"ntc|{notice_id}|{person_id}", kind="notice", person_id=person_id,
                                  channel=channel, chat_id=chat_id, payload=rendered[look], not_before=when))
    _insert_pushes(session, pushes)
    outbox_ids = _outbox_ids(session, [p.key for p in pushes])
    session.connection().execute(insert(NoticeDelivery), [
        dict(notice_id=notice_id, person_id=person_id, outbox_id=outbox_ids.get(f"ntc|{notice_id}|{person_id}"),
             failed=not (channel is not None and reachable), delivered_at=None, acked_at=None)
        for person_id, lang, channel, chat_id, reachable in rows])
    return False


def _insert_pushes(session: Session, pushes: list[outbox.Push]) -> None:
    """Insert outbox rows as one executemany (a statement compiled once, unlike a VALUES list), skipping
    keys already present (a chunk repeated after a crash)."""
    if not pushes:
        return
    insert_of = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = insert_of(Outbox).on_conflict_do_nothing(index_elements=["key"])
    session.connection().execute(statement, [
        dict(key=p.key, kind=p.kind, person_id=p.person_id, channel=p.channel, chat_id=p.chat_id, payload=p.payload,
             status=OutboxStatus.PENDING, attempts=0, not_before=p.not_before, created_at=p.not_before)
        for p in pushes])


def _outbox_ids(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in chunks(keys):
        found.update(session.execute(sa_select(Outbox.key, Outbox.id).where(col(Outbox.key).in_(chunk))).all())
    return found


def record_delivery(session: Session, row: Outbox, delivered: bool, now: datetime) -> None:
    """The sender's hook: a notice push was delivered or failed for good."""
    parts = row.key.split("|")
    if parts[0] != "ntc" or len(parts) < 3:
        return
    notice_id, person_id = int(parts[1]), int(parts[2])
    where = (NoticeDelivery.notice_id == notice_id, NoticeDelivery.person_id == person_id,
             col(NoticeDelivery.delivered_at).is_(None))
    if delivered:
        session.execute(update(NoticeDelivery).where(*where).values(delivered_at=now, failed=False))
    else:
        session.execute(update(NoticeDelivery).where(*where).values(failed=True))


def resend_unacknowledged(session: Session, notice: Notice, by: Person, now: datetime, actor: str = "") -> int | None:
    """Send the notice again to those who have not acknowledged it; None if a resend is already on its way."""
    rnd = notice.remind_count + 1
    claimed = session.execute(update(Notice).where(Notice.id == notice.id, Notice.remind_count == notice.remind_count)
                              .values(remind_count=rnd)).rowcount
    if claimed != 1:
        return None
    session.refresh(notice)
    unit_name = sender_unit_name(session, notice)
    rendered: dict[tuple[str | None, bool], dict] = {}
    pushes = []
    for item in not_acknowledged(session, notice):
        ident = item.identity
        if ident is None or not ident.reachable:
            continue
        lang = (item.person.language, limits_of(ident.channel).buttons)
        if lang not in rendered:
            rendered[lang] = render(notice, unit_name, notice.queued_at or now, lang[0], resent=True,
                                    buttons=lang[1])
        pushes.append(outbox.Push(key=f"ntc|{notice.id}|{item.person.id}|r{rnd}", kind="notice",
                                  person_id=item.person.id, channel=ident.channel, chat_id=ident.chat_id,
                                  payload=rendered[lang], not_before=now))
    queued = outbox.enqueue(session, pushes)
    audit.record(session, "notice.remind", entity="notice", entity_id=notice.id, person_id=by.id, actor=actor,
                 detail={"round": rnd, "queued": queued})
    return queued
