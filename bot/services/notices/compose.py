"""Drafts and rendering: the draft row, and the notice as one recipient (or the preview) sees it."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session

from bot.i18n import _, use_language
from bot.messages import esc
from bot.models import Notice, Person, Unit
from bot.textvn import format_date
from bot.services.notices.common import CAPTION_LIMIT, NoticeStatus


def save_draft(session: Session, sender: Person, notice_id: int | None, *, body: str, file_id: str | None,
               file_name: str | None, audience: dict, requires_ack: bool, send_at: datetime | None,
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


def render(notice: Notice, unit_name: str, when: datetime, lang: str | None, *, resent: bool = False) -> dict:
    """The outbox payload of a notice as one recipient sees it (also the sender's preview).

    With a document: the whole text is its caption when it fits in 1024 characters;
    otherwise the caption is the heading and the text follows as a message (split at
    4096 characters by the channel). The "Đã nhận" button goes with the last part.
    """
    with use_language(lang):
        head = []
        if resent:
            head.append(_("🔔 <b>Reminder</b>: please confirm that you have received this notice."))
        head.append(_("📢 <b>NOTICE</b> from {unit}").format(unit=esc(unit_name)))
        head.append(_("No. {ref} · {date}").format(ref=esc(notice.reference), date=format_date(when)))
        body = esc(notice.body.strip()) if notice.body else ""
        foot = _("Please press “Received” to confirm that you have received this notice.") \
            if notice.requires_ack else ""
        options = [[[_("Received"), f"/danhan {notice.id}"]]] if notice.requires_ack else []
        parts = ["\n".join(head)] + [p for p in (body, foot) if p]
        whole = "\n\n".join(parts)
        if not notice.file_id:
            return {"text": whole, "options": options}
        file = {"name": notice.file_name or "thong-bao.pdf", "file_id": notice.file_id, "kind": "document"}
        if len(whole) <= CAPTION_LIMIT:
            return {"text": "", "options": options, "file": {**file, "caption": whole}}
        return {"text": "\n\n".join(p for p in (body, foot) if p), "options": options,
                "file": {**file, "caption": "\n".join(head)}}


def sender_unit_name(session: Session, notice: Notice) -> str:
    unit = session.get(Unit, notice.sender_unit_id)
    return unit.name if unit else ""
