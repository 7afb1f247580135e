"""Who got a notice and who acknowledged it; which notices a person may follow."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.i18n import _
from bot.models import ChatIdentity, Level, Notice, NoticeDelivery, Outbox, Person, Unit
from bot.services import registry
from bot.textvn import format_datetime
from bot.services.notices.audience import best_identities
from bot.services.notices.common import NoticeStatus, can_broadcast, chunks


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
    for chunk in chunks(outbox_ids):
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
    shown = [NoticeStatus.QUEUING, NoticeStatus.QUEUED, NoticeStatus.SENT]
    for notice in session.exec(select(Notice).where(col(Notice.status).in_(shown))
                               .order_by(col(Notice.id).desc())).all():
        if notice.sender_unit_id in visible:
            found.append(notice)
            if len(found) >= limit:
                break
    return found


def when_label(notice: Notice) -> str:
    return format_datetime(notice.queued_at or notice.created_at)
