"""Delivery counts and the sender's progress message (ntcp|<notice>), then the final report (ntcr|<notice>)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select as sa_select, update
from sqlmodel import Session, col, select

from bot.i18n import _, ngettext, use_language
from bot.messages import Option, Reply, esc, reply_to_json
from bot.models import Notice, NoticeDelivery, Outbox, OutboxStatus, Person
from bot.services import outbox
from bot.services.notices.audience import best_identities
from bot.services.notices.common import FAILED_LISTED, NoticeStatus
from bot.services.notices.compose import sending_time
from bot.services.notices.tracking import recipients_of


def progress_push_key(notice_id: int) -> str:
    return f"ntcp|{notice_id}"


@dataclass
class DeliveryCounts:
    total: int = 0
    delivered: int = 0
    failed: int = 0
    acked: int = 0
    pending: int = 0

    @property
    def done(self) -> int:
        return self.delivered + self.failed


def delivery_counts(session: Session, notice_id: int) -> DeliveryCounts:
    total, delivered, acked, failed = session.execute(
        sa_select(func.count(), func.count(NoticeDelivery.delivered_at), func.count(NoticeDelivery.acked_at),
                  func.coalesce(func.sum(case((NoticeDelivery.failed == True, 1), else_=0)), 0))  # noqa: E712
        .where(NoticeDelivery.notice_id == notice_id)
    ).one()
    pending = session.execute(
        sa_select(func.count()).select_from(NoticeDelivery).join(Outbox, Outbox.id == NoticeDelivery.outbox_id)
        .where(NoticeDelivery.notice_id == notice_id,
               col(Outbox.status).in_([OutboxStatus.PENDING, OutboxStatus.SENDING]))
    ).scalar_one()
    return DeliveryCounts(total=total, delivered=delivered, failed=failed, acked=acked, pending=pending)


def progress_text(notice: Notice, c: DeliveryCounts) -> str:
    text = _("📤 Notice {ref}: sent {sent}/{total}").format(ref=esc(notice.reference), sent=c.delivered,
                                                            total=c.total)
    if c.failed:
        text += "\n" + ngettext("{n} recipient could not be reached", "{n} recipients could not be reached", c.failed).format(n=c.failed)
    return text


def preparing_text(notice: Notice, queued: int, total: int) -> str:
    """The progress message while a large notice's recipients are being queued."""
    return _("📤 Notice {ref}: preparing… queued {queued}/{total}").format(
        ref=esc(notice.reference), queued=queued, total=total)


def queuing_edits(session: Session) -> list[ProgressEdit]:
    """Progress edits of notices whose recipients are still being queued ("queued x/y")."""
    from bot.services.notices.audience import count_recipients

    edits = []
    for notice in session.exec(select(Notice).where(Notice.status == NoticeStatus.QUEUING).order_by(Notice.id)).all():
        progress = session.exec(select(Outbox).where(Outbox.key == progress_push_key(notice.id))).first()
        sender = session.get(Person, notice.sender_person_id) if notice.sender_person_id else None
        if progress is None or progress.status != OutboxStatus.SENT or not progress.message_id or sender is None:
            continue
        queued = session.execute(sa_select(func.count()).select_from(NoticeDelivery)
                                 .where(NoticeDelivery.notice_id == notice.id)).scalar_one()
        total = max(count_recipients(session, sender, notice.audience or {})[0], queued)
        with use_language(sender.language):
            text = preparing_text(notice, queued, total)
        if text != notice.progress_text:
            edits.append(ProgressEdit(notice.id, progress.channel, progress.chat_id, progress.message_id, text))
    return edits


def final_progress_text(notice: Notice, c: DeliveryCounts) -> str:
    return _("✅ Notice {ref}: finished — delivered {delivered}/{total}, failed {failed}.").format(
        ref=esc(notice.reference), delivered=c.delivered, total=c.total, failed=c.failed)


@dataclass(frozen=True)
class ProgressEdit:
    notice_id: int
    channel: str
    chat_id: str
    message_id: str
    text: str
    final: bool = False  # the last figures: once shown, the notice finishes


def progress_work(session: Session, now: datetime) -> list[ProgressEdit]:
    """What the progress messages should show now; finishes notices whose sending is over.

    A notice finishes (status sent, final report queued) only once its progress message
    shows the final figures, so a crash in between repeats the edit, never the report.
    """
    edits: list[ProgressEdit] = queuing_edits(session)
    for notice in session.exec(select(Notice).where(Notice.status == NoticeStatus.QUEUED)
                               .order_by(Notice.id)).all():
        c = delivery_counts(session, notice.id)
        progress = session.exec(select(Outbox).where(Outbox.key == progress_push_key(notice.id))).first()
        progress_open = progress is not None and progress.status in (OutboxStatus.PENDING, OutboxStatus.SENDING)
        shown = progress is not None and progress.status == OutboxStatus.SENT and progress.message_id
        sender = session.get(Person, notice.sender_person_id) if notice.sender_person_id else None
        with use_language(sender.language if sender else None):
            if c.pending == 0 and not progress_open:
                text = final_progress_text(notice, c)
                if shown and notice.progress_text != text:
                    edits.append(ProgressEdit(notice.id, progress.channel, progress.chat_id,  # type: ignore[union-attr]
                                              progress.message_id, text, final=True))  # type: ignore[union-attr, arg-type]
                else:
                    finish(session, notice, c, progress, sender, now)
                continue
            if not shown:
                continue
            text = progress_text(notice, c)
            if text != notice.progress_text:
                edits.append(ProgressEdit(notice.id, progress.channel, progress.chat_id,  # type: ignore[union-attr]
                                          progress.message_id, text))  # type: ignore[union-attr, arg-type]
    return edits


def progress_shown(session: Session, notice_id: int, text: str) -> None:
    session.execute(update(Notice).where(Notice.id == notice_id).values(progress_text=text))


def finish(session: Session, notice: Notice, c: DeliveryCounts, progress: Outbox | None, sender: Person | None,
           now: datetime) -> None:
    """Mark the notice sent and queue the final report to its sender (once)."""
    flipped = session.execute(update(Notice).where(Notice.id == notice.id, Notice.status == NoticeStatus.QUEUED)
                              .values(status=NoticeStatus.SENT, finished_at=now)).rowcount
    if flipped != 1 or sender is None:
        return
    channel_chat = (progress.channel, progress.chat_id) if progress is not None else None
    if channel_chat is None:
        ident = best_identities(session, [sender.id]).get(sender.id)
        channel_chat = (ident.channel, ident.chat_id) if ident is not None and ident.reachable else None
    if channel_chat is None:
        return
    outbox.enqueue(session, [outbox.Push(
        key=f"ntcr|{notice.id}", kind="notice_report", person_id=sender.id, channel=channel_chat[0],
        chat_id=channel_chat[1], payload=final_report(session, notice, c, now), not_before=now)])


def final_report(session: Session, notice: Notice, c: DeliveryCounts, now: datetime) -> dict:
    lines = [
        _("📋 <b>Sending report: notice {ref}</b>").format(ref=esc(notice.reference)),
        _("Delivered: {delivered}/{total}").format(delivered=c.delivered, total=c.total),
        _("Could not be delivered: {failed}").format(failed=c.failed),
    ]
    if notice.queued_at is not None:
        started = sending_time(notice, notice.queued_at)
        seconds = max(0, int((now - started).total_seconds()))
        lines.append(_("Time taken: {time}").format(time=duration(seconds)))
    failed = [item for item in recipients_of(session, notice) if item.delivery.failed]
    if failed:
        lines.append("")
        lines.append(_("Not delivered:"))
        for item in failed[:FAILED_LISTED]:
            lines.append(f"• {esc(item.unit.name)} — {esc(item.person.full_name or '?')} ({item.reason})")
        if len(failed) > FAILED_LISTED:
            lines.append(_("… and {n} more (see the Excel file)").format(n=len(failed) - FAILED_LISTED))
    if notice.requires_ack:
        lines.append("")
        lines.append(_("Acknowledged so far: {acked}/{total}").format(acked=c.acked, total=c.total))
    return reply_to_json(Reply(text="\n".join(lines), options=[[Option(_("Details"), f"/thongbao_ds {notice.id}")]],
                               numbered=False))


def duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    if minutes:
        return _("{m} min {s} s").format(m=minutes, s=secs)
    return _("{s} s").format(s=secs)
