"""Drafts and rendering: the draft row, and the notice as one recipient (or the preview) sees it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from bot.i18n import _, use_language
from bot.messages import Option, OutFile, Reply, esc, reply_to_json
from bot.models import Notice, Person, Unit
from bot.textvn import format_date
from bot.services.notices.common import NoticeStatus


def save_draft(session: Session, sender: Person, notice_id: int | None, *, body: str, file_id: str | None,
               file_name: str | None, audience: dict, file_path: str | None = None, requires_ack: bool, send_at: datetime | None,
               now: datetime) -> Notice:
    """Create or update the sender's draft (the preview shows its reference number)."""
    notice = session.get(Notice, notice_id) if notice_id else None
    if notice is None or notice.status != NoticeStatus.DRAFT or notice.sender_person_id != sender.id:
        notice = Notice(reference=f"draft-{uuid.uuid4().hex[:20]}", body=body, sender_person_id=sender.id,
                        sender_unit_id=sender.unit_id, created_at=now, status=NoticeStatus.DRAFT)
        session.add(notice)
        session.flush()
        notice.reference = f"TB-{notice.id:05d}"
    notice.body = body
    notice.file_id = file_id
    notice.file_name = file_name
    notice.file_path = file_path
    notice.audience = dict(audience)
    notice.requires_ack = requires_ack
    notice.send_at = send_at
    session.add(notice)
    session.flush()
    return notice


def cancel_draft(session: Session, notice_id: int | None, sender: Person) -> None:
    if notice_id:
        session.execute(update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.DRAFT,
                                             Notice.sender_person_id == sender.id)
                        .values(status=NoticeStatus.CANCELLED))


def sending_time(notice: Notice, now: datetime) -> datetime:
    return notice.send_at if notice.send_at is not None and notice.send_at > now else now


def split_file_id(value: str | None) -> tuple[str | None, str | None]:
    """(channel, id) of a stored channel file id "telegram:BQAC…"; older rows hold a bare Telegram id."""
    if not value:
        return None, None
    channel, sep, rest = value.partition(":")
    if sep and channel.isidentifier() and rest:
        return channel, rest
    return "telegram", value


def render(notice: Notice, unit_name: str, when: datetime, lang: str | None, *, resent: bool = False,
           buttons: bool = True) -> dict:
    """The outbox payload of a notice as one recipient sees it (also the sender's preview).

    With a document the heading is its caption and the text follows (a channel that can
    fit both in one caption joins them). Where the channel has buttons the "Đã nhận" button
    goes with the last part; elsewhere the text says to type 1 or "đã nhận", and the typed
    answer is taken as the same choice (bot/services/push_choices.py).
    """
    with use_language(lang):
        head = []
        if resent:
            head.append(_("🔔 <b>Reminder</b>: please confirm that you have received this notice."))
        head.append(_("📢 <b>NOTICE</b> from {unit}").format(unit=esc(unit_name)))
        head.append(_("No. {ref} · {date}").format(ref=esc(notice.reference), date=format_date(when)))
        body = esc(notice.body.strip()) if notice.body else ""
        foot = ""
        if notice.requires_ack:
            foot = _("Please press “Received” to confirm that you have received this notice.") if buttons else \
                _("Reply 1 (or “received”) to confirm that you have received this notice.")
        options = [[Option(_("Received"), f"/danhan {notice.id}")]] if notice.requires_ack else []
        heading = "\n".join(head)
        if not (notice.file_id or notice.file_path):
            text = "\n\n".join([heading] + [p for p in (body, foot) if p])
            return reply_to_json(Reply(text=text, options=options, numbered=not buttons))
        channel, file_id = split_file_id(notice.file_id)
        file = OutFile(file_name=notice.file_name or "thong-bao.pdf", kind="document", caption=heading,
                       file_id=file_id, file_channel=channel, stored=notice.file_path)
        return reply_to_json(Reply(text="\n\n".join(p for p in (body, foot) if p), options=options,
                                   numbered=not buttons, file=file))


def sender_unit_name(session: Session, notice: Notice) -> str:
    unit = session.get(Unit, notice.sender_unit_id)
    return unit.name if unit else ""
