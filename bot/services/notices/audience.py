"""Who a notice goes to: the audience choices, cut to the sender's subtree, in words."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from sqlalchemy import Select, case, func, join, select as sa_select, true
from sqlalchemy.sql.elements import ColumnElement
from sqlmodel import Session, col, select

from bot.i18n import _
from bot.messages import esc
from bot.models import ChatIdentity, ConversationState, Level, Person, Role, Unit
from bot.services import registry
from bot.services.rollup import DrivingJoin
from bot.services.notices.common import AudienceKind, SECTOR_LABELS, chunks, sector_label


@dataclass
class Recipient:
    person: Person
    unit: Unit
    identity: ChatIdentity | None

    @property
    def reachable(self) -> bool:
        return self.identity is not None and self.identity.reachable


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
    for chunk in chunks(sorted(unit_ids)):
        people += session.exec(select(Person).where(
            col(Person.unit_id).in_(chunk), col(Person.role).in_(roles), Person.active == True,  # noqa: E712
            Person.id != sender.id)).all()
    identities = best_identities(session, [p.id for p in people])
    recipients = [Recipient(p, units[p.unit_id], identities.get(p.id)) for p in people]
    recipients.sort(key=lambda r: (r.unit.code, r.person.id))
    return recipients


def best_identities(session: Session, person_ids: list[int]) -> dict[int, ChatIdentity]:
    """One chat account per person: the one pushes go to (registry.push_identities)."""
    return registry.push_identities(session, person_ids)



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


# ---- the same audience in SQL (large notices: counted and queued without loading people) ------------


def _subtree(root_ids: Select) -> Select:
    tree = root_ids.cte(f"notice_tree_{next(_names)}", recursive=True)
    tree = tree.union(sa_select(Unit.id).join(tree, Unit.parent_id == tree.c.id))
    return sa_select(tree.c.id)


_names = itertools.count()


def recipients_select(sender: Person, audience: dict, *, by_person: bool = False) -> Select | None:
    """One SELECT of (person id, language, channel, chat id, reachable) for every recipient of a notice,
    with each person's best chat (as `best_identities`); equal to `resolve_audience`. None: nobody.

    `by_person`: people drive the query (for a keyset over person ids, `Person.id > x ORDER BY
    Person.id LIMIT n`): SQLite then reads n people in id order and checks each one's unit,
    instead of finding every recipient after x and sorting them for each chunk. An officer's or
    staff member's subtree is then left to the caller (`within`), not walked in SQL for every
    chunk: the rows carry the unit's id and parent id after the five columns."""
    if sender.role == Role.CHAIR:
        visible: list[ColumnElement[bool]] = [Unit.id == sender.unit_id]
    elif sender.role == Role.ADMIN:
        visible = []
    else:
        visible = [col(Unit.id).in_(_subtree(sa_select(Unit.id).where(Unit.id == sender.unit_id)))]
    roots_visible = visible
    if by_person and sender.role not in (Role.CHAIR, Role.ADMIN):
        visible = []  # checked by the caller with `within`
    grassroots = [Unit.level == Level.GRASSROOTS]
    kind = audience.get("kind")
    roles: tuple[str, ...] = (Role.CHAIR,)
    if kind == AudienceKind.CHAIRS:
        where = grassroots
    elif kind == AudienceKind.UNIONS:
        chosen = [int(i) for i in audience.get("units", [])]
        roots = sa_select(Unit.id).where(col(Unit.id).in_(chosen), Unit.level == Level.UPPER,
                                         Unit.active == true(), *roots_visible)
        where = grassroots + [col(Unit.id).in_(_subtree(roots))]
    elif kind == AudienceKind.SECTOR:
        where = grassroots + [Unit.sector == audience.get("sector")]
    elif kind == AudienceKind.OFFICERS:
        where, roles = [], (Role.OFFICER,)
    elif kind == AudienceKind.UNITS:
        codes = [str(c).upper() for c in audience.get("codes", [])]
        where, roles = [func.upper(Unit.code).in_(codes)], (Role.CHAIR, Role.OFFICER)
    else:
        return None
    # the chat pushes go to (as registry.push_identities): a reachable one, the one used last
    last_used = (sa_select(func.max(ConversationState.updated_at))
                 .where(ConversationState.channel == ChatIdentity.channel,
                        ConversationState.external_id == ChatIdentity.external_id)
                 .correlate(ChatIdentity).scalar_subquery())
    best = (sa_select(ChatIdentity.id).where(ChatIdentity.person_id == Person.id)
            .order_by(col(ChatIdentity.reachable).desc(), last_used.desc().nulls_last(), col(ChatIdentity.id))
            .limit(1).correlate(Person).scalar_subquery())
    extra = (Unit.id, Unit.parent_id) if by_person else ()
    return (sa_select(Person.id, Person.language, ChatIdentity.channel, ChatIdentity.chat_id,
                      ChatIdentity.reachable, *extra)
            .select_from(DrivingJoin(Person, Unit, Unit.id == Person.unit_id + 0) if by_person
                         else join(Person, Unit, Unit.id == Person.unit_id))
            .outerjoin(ChatIdentity, ChatIdentity.id == best)
            .where(col(Person.role).in_(roles), Person.active == true(), Person.id != sender.id,
                   Unit.active == true(), *visible, *where))


class Within:
    """Is a unit in the subtree of `root`? Walked up through the inner units' parent links (one
    small query: only units with units below them), for `recipients_select(by_person=True)`."""

    def __init__(self, session: Session, sender: Person) -> None:
        self.everyone = sender.role in (Role.CHAIR, Role.ADMIN)  # checked in SQL, or no limit
        self.root = sender.unit_id
        self.parents: dict[int, int | None] = {}
        if not self.everyone and self.root is not None:
            inner = sa_select(Unit.parent_id).where(col(Unit.parent_id).is_not(None))
            self.parents = dict(session.execute(sa_select(Unit.id, Unit.parent_id)
                                                .where(col(Unit.id).in_(inner))).all())

    def __call__(self, unit_id: int, parent_id: int | None) -> bool:
        if self.everyone or unit_id == self.root:
            return True
        if self.root is None:
            return False
        seen: set[int] = set()
        while parent_id is not None and parent_id not in seen:
            if parent_id == self.root:
                return True
            seen.add(parent_id)
            parent_id = self.parents.get(parent_id)
        return False


def count_recipients(session: Session, sender: Person, audience: dict) -> tuple[int, int]:
    """(recipients, reachable ones) of a notice, counted in SQL."""
    query = recipients_select(sender, audience)
    if query is None:
        return 0, 0
    rows = query.subquery()
    total, reachable = session.execute(sa_select(
        func.count(), func.coalesce(func.sum(case((rows.c.reachable == true(), 1), else_=0)), 0))).one()
    return int(total), int(reachable)
