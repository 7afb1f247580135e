"""Notices (thông báo, công văn): who gets them, the send-once enqueue, deliveries,
acknowledgements, progress and the reports staff read afterwards.

A notice is composed as a draft row; "Gửi" flips it from draft to queued with a guarded
UPDATE and, in the same transaction, writes one NoticeDelivery per recipient and one
outbox push per reachable recipient, so a second "Gửi" (a stale button, a double press,
a redelivered update) finds nothing to flip and enqueues nothing. Outbox keys:

    ntc|<notice>|<person>          the notice to one recipient
    ntc|<notice>|<person>|r<n>     the n-th resend to those who have not acknowledged
    ntcp|<notice>                  the sender's progress message (then edited in place)
    ntcr|<notice>                  the sender's final report

The audience is always cut to the sender's visible subtree, whatever the stored choice
says. Texts are rendered per recipient language; the preview uses the same function.
"""

from __future__ import annotations

import io
import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import case, func, insert, select as sa_select, update
from sqlmodel import Session, col, select

from bot.clock import to_local
from bot.i18n import N_, _, ngettext, use_language
from bot.messages import esc
from bot.models import (
    ChatIdentity,
    Level,
    Notice,
    NoticeDelivery,
    Outbox,
    OutboxStatus,
    Person,
    Role,
    Sector,
    Unit,
)
from bot.services import audit, outbox, registry
from bot.textvn import format_datetime, format_date

log = logging.getLogger(__name__)

MAX_BODY = 4000  # characters a notice text may have (a Telegram message holds 4096)
CAPTION_LIMIT = 1024  # Telegram's limit for a document caption
DOCUMENT_EXTENSIONS = (".pdf", ".doc", ".docx", ".odt", ".xls", ".xlsx")
BROADCASTERS = (Role.STAFF, Role.OFFICER, Role.ADMIN)
FAILED_LISTED = 30  # unreachable recipients named in the final report (the rest are counted)
CHUNK = 500

SECTOR_LABELS = {
    Sector.HCSN.value: N_("public administration and services"),
    Sector.DNNN.value: N_("state-owned enterprises"),
    Sector.NGOAINN.value: N_("non-state enterprises"),
}


class AudienceKind(StrEnum):
    CHAIRS = "chairs"  # every CĐCS chair in the sender's subtree
    UNIONS = "unions"  # the chairs under chosen upper-level unions  {"units": [unit ids]}
    SECTOR = "sector"  # the chairs of the CĐCS of one sector          {"sector": "hcsn"}
    OFFICERS = "officers"  # the officers of upper-level unions
    UNITS = "units"  # the chairs and officers of listed units          {"codes": [unit codes]}


class NoticeStatus(StrEnum):
    DRAFT = "draft"
    QUEUED = "queued"
    SENT = "sent"  # every recipient dealt with; the final report is queued
    CANCELLED = "cancelled"


def can_broadcast(person: Person | None) -> bool:
    return person is not None and person.role in BROADCASTERS


def sector_label(sector: str | None) -> str:
    return _(SECTOR_LABELS[sector]) if sector in SECTOR_LABELS else (sector or "")


def is_document(file_name: str | None, mime_type: str | None = None) -> bool:
    """A file staff may attach: PDF, Word (and a few office formats)."""
    name = (file_name or "").lower()
    if name.endswith(DOCUMENT_EXTENSIONS):
        return True
    return (mime_type or "") in ("application/pdf", "application/msword",
                                 "application/vnd.openxmlformats-officedocument.wordprocessingml.document")


# ---- audience ----------------------------------------------------------------------------


@dataclass
class Recipient:
    person: Person
    unit: Unit
    identity: ChatIdentity | None

    @property
    def reachable(self) -> bool:
        return self.identity is not None and self.identity.reachable


def _chunks(items: list, size: int = CHUNK) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def visible_units(session: Session, sender: Person) -> dict[int, Unit]:
    """The active units the sender may address, by id."""
    visible = registry.visible_unit_ids(session, sender)
    units = session.exec(select(Unit).where(Unit.active == True)).all()  # noqa: E712
    return {u.id: u for u in units if u.id in visible}


def upper_unions(session: Session, sender: Person) -> list[Unit]:
    """Upper-level unions within the sender's subtree, by code."""
    return sorted((u for u in visible_units(session, sender).values() if u.level == Level.UPPER),
                  key=lambda u: u.code)


def sectors_present(session: Session, sender: Person) -> list[str]:
    found = {u.sector for u in visible_units(session, sender).values()
             if u.level == Level.GRASSROOTS and u.sector}
    return [s for s in SECTOR_LABELS if s in found] + sorted(found - set(SECTOR_LABELS))


def units_by_codes(session: Session, sender: Person, codes: list[str]) -> tuple[list[Unit], list[str]]:
    """The visible units named by codes (any case), and the codes that name none of them."""
    by_code = {u.code.upper(): u for u in visible_units(session, sender).values()}
    found, unknown = [], []
    for code in codes:
        unit = by_code.get(code.upper())
        if unit is None:
            unknown.append(code)
        elif unit not in found:
            found.append(unit)
    return found, unknown


def resolve_audience(session: Session, sender: Person, audience: dict) -> list[Recipient]:
    """The people a notice goes to: never outside the sender's subtree, never the sender."""
    units = visible_units(session, sender)
    kind = audience.get("kind")
    grassroots = {i for i, u in units.items() if u.level == Level.GRASSROOTS}
    roles: tuple[str, ...] = (Role.CHAIR,)
    if kind == AudienceKind.CHAIRS:
        unit_ids = grassroots
    elif kind == AudienceKind.UNIONS:
        chosen = [int(i) for i in audience.get("units", []) if int(i) in units
                  and units[int(i)].level == Level.UPPER]
        under: set[int] = set()
        for union_id in chosen:
            under |= registry.subtree_ids(session, union_id)
        unit_ids = grassroots & under
    elif kind == AudienceKind.SECTOR:
        wanted = audience.get("sector")
        unit_ids = {i for i in grassroots if units[i].sector == wanted}
    elif kind == AudienceKind.OFFICERS:
        unit_ids, roles = set(units), (Role.OFFICER,)
    elif kind == AudienceKind.UNITS:
        found, _unknown = units_by_codes(session, sender, list(audience.get("codes", [])))
        unit_ids, roles = {u.id for u in found}, (Role.CHAIR, Role.OFFICER)
    else:
        return []
    people: list[Person] = []
    for chunk in _chunks(sorted(unit_ids)):
        people += session.exec(select(Person).where(
            col(Person.unit_id).in_(chunk), col(Person.role).in_(roles), Person.active == True,  # noqa: E712
            Person.id != sender.id)).all()
    identities = best_identities(session, [p.id for p in people])
    recipients = [Recipient(p, units[p.unit_id], identities.get(p.id)) for p in people]
    recipients.sort(key=lambda r: (r.unit.code, r.person.id))
    return recipients


def best_identities(session: Session, person_ids: list[int]) -> dict[int, ChatIdentity]:
    """One chat account per person: a reachable one first, Telegram before other channels."""
    best: dict[int, ChatIdentity] = {}
    for chunk in _chunks(person_ids):
        for ident in session.exec(select(ChatIdentity).where(col(ChatIdentity.person_id).in_(chunk))).all():
            rank = (ident.reachable, ident.channel == "telegram", -ident.id)
            current = best.get(ident.person_id)
            if current is None or rank > (current.reachable, current.channel == "telegram", -current.id):
                best[ident.person_id] = ident
    return best


def describe_audience(session: Session, audience: dict) -> str:
    """The audience in words, in the current language."""
    kind = audience.get("kind")
    if kind == AudienceKind.CHAIRS:
        return _("all CĐCS chairs")
    if kind == AudienceKind.UNIONS:
        units = [session.get(Unit, int(i)) for i in audience.get("units", [])]
        names = ", ".join(esc(u.name) for u in units if u is not None)
        return _("the CĐCS chairs under {unions}").format(unions=names)
    if kind == AudienceKind.SECTOR:
        return _("the CĐCS chairs of the sector: {sector}").format(sector=esc(sector_label(audience.get("sector"))))
    if kind == AudienceKind.OFFICERS:
        return _("all officers of upper-level unions")
    if kind == AudienceKind.UNITS:
        return _("the people of the units {codes}").format(codes=esc(", ".join(audience.get("codes", []))))
    return "—"


# ---- drafts and rendering --------------------------------------------------------------


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


# ---- sending -----------------------------------------------------------------------------


@dataclass
class Queued:
    notice: Notice
    total: int
    reachable: int
    when: datetime


def progress_push_key(notice_id: int) -> str:
    return f"ntcp|{notice_id}"


def queue(session: Session, notice_id: int, sender: Person, recipients: list[Recipient], *,
          progress_to: tuple[str, str] | None, now: datetime, actor: str = "") -> Queued | None:
    """Flip the draft to queued and enqueue everything, once; None if it was not a draft any more."""
    flipped = session.execute(
        update(Notice).where(Notice.id == notice_id, Notice.status == NoticeStatus.DRAFT,
                             Notice.sender_person_id == sender.id)
        .values(status=NoticeStatus.QUEUED, queued_at=now)
    ).rowcount
    if flipped != 1:
        return None
    notice = session.get(Notice, notice_id)
    assert notice is not None
    session.refresh(notice)
    when = sending_time(notice, now)
    unit_name = sender_unit_name(session, notice)
    reachable = [r for r in recipients if r.reachable]
    pushes: list[outbox.Push] = []
    if progress_to is not None:
        with use_language(sender.language):
            text = progress_text(notice, DeliveryCounts(total=len(recipients), failed=len(recipients) - len(reachable)))
        notice.progress_text = text
        pushes.append(outbox.Push(key=progress_push_key(notice.id), kind="notice_progress", person_id=sender.id,
                                  channel=progress_to[0], chat_id=progress_to[1], payload={"text": text},
                                  not_before=when))
    rendered: dict[str | None, dict] = {}
    for r in reachable:
        lang = r.person.language
        if lang not in rendered:
            rendered[lang] = render(notice, unit_name, when, lang)
        pushes.append(outbox.Push(key=f"ntc|{notice.id}|{r.person.id}", kind="notice", person_id=r.person.id,
                                  channel=r.identity.channel, chat_id=r.identity.chat_id,  # type: ignore[union-attr]
                                  payload=rendered[lang], not_before=when))
    outbox.enqueue(session, pushes)
    outbox_ids = _outbox_ids(session, [p.key for p in pushes[1 if progress_to else 0:]])
    rows = [dict(notice_id=notice.id, person_id=r.person.id,
                 outbox_id=outbox_ids.get(f"ntc|{notice.id}|{r.person.id}"),
                 failed=not r.reachable, delivered_at=None, acked_at=None)
            for r in recipients]
    for chunk in _chunks(rows):
        session.execute(insert(NoticeDelivery), chunk)
    session.add(notice)
    audit.record(session, "notice.send", entity="notice", entity_id=notice.id, person_id=sender.id, actor=actor,
                 detail={"reference": notice.reference, "audience": notice.audience,
                         "recipients": len(recipients), "reachable": len(reachable)})
    return Queued(notice, len(recipients), len(reachable), when)


def _outbox_ids(session: Session, keys: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for chunk in _chunks(keys):
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


# ---- acknowledgements ----------------------------------------------------------------------


class AckOutcome(StrEnum):
    RECORDED = "recorded"
    ALREADY = "already"
    NOT_RECIPIENT = "not_recipient"


def acknowledge(session: Session, notice_id: int, person_id: int, now: datetime
                ) -> tuple[AckOutcome, Notice | None, datetime | None]:
    """Record that a recipient has the notice; a second press records nothing more."""
    delivery = session.exec(select(NoticeDelivery).where(NoticeDelivery.notice_id == notice_id,
                                                         NoticeDelivery.person_id == person_id)).first()
    notice = session.get(Notice, notice_id)
    if delivery is None or notice is None:
        return AckOutcome.NOT_RECIPIENT, None, None
    recorded = session.execute(
        update(NoticeDelivery).where(NoticeDelivery.id == delivery.id, col(NoticeDelivery.acked_at).is_(None))
        .values(acked_at=now)
    ).rowcount
    if recorded == 1:
        session.execute(update(NoticeDelivery).where(NoticeDelivery.id == delivery.id,
                                                     col(NoticeDelivery.delivered_at).is_(None))
                        .values(delivered_at=now, failed=False))
        return AckOutcome.RECORDED, notice, now
    session.refresh(delivery)
    return AckOutcome.ALREADY, notice, delivery.acked_at


# ---- counts and progress ------------------------------------------------------------------


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
    edits: list[ProgressEdit] = []
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
    return {"text": "\n".join(lines), "options": [[[_("Details"), f"/thongbao_ds {notice.id}"]]]}


def duration(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    if minutes:
        return _("{m} min {s} s").format(m=minutes, s=secs)
    return _("{s} s").format(s=secs)


# ---- who got it, who acknowledged ------------------------------------------------------------


@dataclass
class RecipientStatus:
    person: Person
    unit: Unit
    union: Unit | None  # the nearest upper-level union (the unit itself for an officer)
    delivery: NoticeDelivery
    identity: ChatIdentity | None
    error: str | None

    @property
    def reason(self) -> str:
        if self.identity is None:
            return _("not registered on the bot")
        if not self.identity.reachable or (self.error or "").startswith("unreachable"):
            return _("blocked the bot")
        if self.delivery.failed:
            return _("sending failed")
        return ""

    def status(self) -> str:
        if self.delivery.acked_at is not None:
            return _("acknowledged")
        if self.delivery.delivered_at is not None:
            return _("delivered")
        if self.delivery.failed:
            return _("not delivered")
        return _("waiting")


def recipients_of(session: Session, notice: Notice) -> list[RecipientStatus]:
    """Every recipient of a notice with their delivery, unit and upper-level union."""
    rows = session.exec(
        select(NoticeDelivery, Person, Unit).join(Person, col(Person.id) == col(NoticeDelivery.person_id))
        .join(Unit, col(Unit.id) == col(Person.unit_id)).where(NoticeDelivery.notice_id == notice.id)
    ).all()
    identities = best_identities(session, [p.id for _d, p, _u in rows])
    errors: dict[int, str | None] = {}
    outbox_ids = [d.outbox_id for d, _p, _u in rows if d.outbox_id is not None and d.failed]
    for chunk in _chunks(outbox_ids):
        errors.update(session.execute(sa_select(Outbox.id, Outbox.error).where(col(Outbox.id).in_(chunk))).all())
    parents: dict[int, Unit] = {u.id: u for u in session.exec(select(Unit)).all()}
    result = []
    for delivery, person, unit in rows:
        result.append(RecipientStatus(person, unit, _union_of(unit, parents), delivery,
                                      identities.get(person.id), errors.get(delivery.outbox_id or 0)))
    result.sort(key=lambda r: ((r.union.code if r.union else ""), r.unit.code, r.person.id))
    return result


def _union_of(unit: Unit, units: dict[int, Unit]) -> Unit | None:
    seen: set[int] = set()
    current: Unit | None = unit
    while current is not None and current.id not in seen:
        if current.level == Level.UPPER:
            return current
        seen.add(current.id)
        current = units.get(current.parent_id) if current.parent_id else None
    return None


def not_acknowledged(session: Session, notice: Notice) -> list[RecipientStatus]:
    return [r for r in recipients_of(session, notice) if r.delivery.acked_at is None]


def group_by_union(items: list[RecipientStatus]) -> list[tuple[Unit | None, list[RecipientStatus]]]:
    groups: dict[int | None, list[RecipientStatus]] = defaultdict(list)
    unions: dict[int | None, Unit | None] = {}
    for item in items:
        key = item.union.id if item.union else None
        groups[key].append(item)
        unions[key] = item.union
    return [(unions[k], groups[k]) for k in groups]


def can_manage(session: Session, person: Person | None, notice: Notice | None) -> bool:
    """Staff and officers follow the notices sent from within their subtree."""
    if not can_broadcast(person) or notice is None or notice.status in (NoticeStatus.DRAFT, NoticeStatus.CANCELLED):
        return False
    assert person is not None
    return notice.sender_unit_id in registry.visible_unit_ids(session, person)


def recent(session: Session, person: Person, limit: int = 10) -> list[Notice]:
    visible = registry.visible_unit_ids(session, person)
    found = []
    for notice in session.exec(select(Notice).where(col(Notice.status).in_([NoticeStatus.QUEUED, NoticeStatus.SENT]))
                               .order_by(col(Notice.id).desc())).all():
        if notice.sender_unit_id in visible:
            found.append(notice)
            if len(found) >= limit:
                break
    return found


def resend_unacknowledged(session: Session, notice: Notice, by: Person, now: datetime, actor: str = "") -> int | None:
    """Send the notice again to those who have not acknowledged it; None if a resend is already on its way."""
    rnd = notice.remind_count + 1
    claimed = session.execute(update(Notice).where(Notice.id == notice.id, Notice.remind_count == notice.remind_count)
                              .values(remind_count=rnd)).rowcount
    if claimed != 1:
        return None
    session.refresh(notice)
    unit_name = sender_unit_name(session, notice)
    rendered: dict[str | None, dict] = {}
    pushes = []
    for item in not_acknowledged(session, notice):
        ident = item.identity
        if ident is None or not ident.reachable:
            continue
        lang = item.person.language
        if lang not in rendered:
            rendered[lang] = render(notice, unit_name, notice.queued_at or now, lang, resent=True)
        pushes.append(outbox.Push(key=f"ntc|{notice.id}|{item.person.id}|r{rnd}", kind="notice",
                                  person_id=item.person.id, channel=ident.channel, chat_id=ident.chat_id,
                                  payload=rendered[lang], not_before=now))
    queued = outbox.enqueue(session, pushes)
    audit.record(session, "notice.remind", entity="notice", entity_id=notice.id, person_id=by.id, actor=actor,
                 detail={"round": rnd, "queued": queued})
    return queued


# ---- Excel -------------------------------------------------------------------------------------


def export_xlsx(session: Session, notice: Notice) -> bytes:
    """The recipients of a notice: a sheet of those who have not acknowledged, and everyone."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    items = recipients_of(session, notice)
    workbook = Workbook()
    headers = [_("Upper-level union"), _("Unit code"), _("Unit"), _("Person"), _("Status"),
               _("Delivered at"), _("Acknowledged at"), _("Note")]

    def fill(sheet, rows: list[RecipientStatus]) -> None:  # type: ignore[no-untyped-def]
        sheet.append([_("Notice {ref}").format(ref=notice.reference)])
        sheet["A1"].font = Font(bold=True)
        sheet.append(headers)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
        for r in rows:
            sheet.append([
                r.union.name if r.union else "", r.unit.code, r.unit.name, r.person.full_name, r.status(),
                _excel_time(r.delivery.delivered_at), _excel_time(r.delivery.acked_at), r.reason,
            ])
        sheet.freeze_panes = "A3"
        for column, width in zip("ABCDEFGH", (32, 12, 40, 28, 16, 18, 18, 24)):
            sheet.column_dimensions[column].width = width

    first = workbook.active
    first.title = _("Not acknowledged")[:31]
    fill(first, [r for r in items if r.delivery.acked_at is None])
    fill(workbook.create_sheet(_("All recipients")[:31]), items)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _excel_time(value: datetime | None) -> datetime | None:
    return to_local(value).replace(tzinfo=None) if value is not None else None


def when_label(notice: Notice) -> str:
    return format_datetime(notice.queued_at or notice.created_at)
