"""Who a playground visitor can be: a person of the demo province, bound to a web chat.

A persona is a role on a unit: the chair of a CĐCS, the officer of an upper-level union,
or provincial staff. Choosing one creates (once) the person and the web chat identity in
the playground's own database, exactly as redeeming an invite would, so the core treats
the chat like any registered person's. The chat id names the role and the unit
(`chair-12`), and is checked against the database on every use.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.i18n import N_, _
from bot.models import ChatIdentity, Level, Person, Role, Unit

CHANNEL = "web"
LEVEL_OF = {Role.CHAIR: Level.GRASSROOTS, Role.OFFICER: Level.UPPER, Role.STAFF: Level.PROVINCE}
ROLE_LABEL = {Role.CHAIR: N_("Chair of a CĐCS"), Role.OFFICER: N_("Upper-level union officer"),
              Role.STAFF: N_("Provincial staff")}
PERSON_NAME = {Role.CHAIR: N_("Chair (trial)"), Role.OFFICER: N_("Officer (trial)"),
               Role.STAFF: N_("Staff member (trial)")}
_CHAT = re.compile(r"^(chair|officer|staff)-([0-9]{1,9})$")


@dataclass(frozen=True)
class Persona:
    chat: str
    role: str
    unit_code: str
    unit_name: str
    parent_name: str = ""

    def as_json(self) -> dict:
        return {"chat": self.chat, "role": self.role, "role_label": _(ROLE_LABEL[Role(self.role)]),
                "unit_code": self.unit_code, "unit_name": self.unit_name, "parent_name": self.parent_name}


def chat_of(role: Role, unit_id: int) -> str:
    return f"{role.value}-{unit_id}"


def parse_chat(chat: str) -> tuple[Role, int] | None:
    found = _CHAT.match(chat or "")
    return (Role(found[1]), int(found[2])) if found else None


def _persona(session: Session, role: Role, unit: Unit) -> Persona:
    parent = session.get(Unit, unit.parent_id) if unit.parent_id else None
    return Persona(chat=chat_of(role, unit.id or 0), role=role.value, unit_code=unit.code, unit_name=unit.name,
                   parent_name=parent.name if parent is not None else "")


def bind(session: Session, role_name: str, unit_code: str | None) -> Persona | None:
    """The persona for a role on a unit, creating its person and web chat once (None: no such unit for the role)."""
    try:
        role = Role(role_name)
    except ValueError:
        return None
    if role not in LEVEL_OF:
        return None
    query = select(Unit).where(Unit.level == LEVEL_OF[role], Unit.active == True)  # noqa: E712
    if role != Role.STAFF or unit_code:
        query = query.where(Unit.code == (unit_code or ""))
    unit = session.exec(query.order_by(Unit.code)).first()
    if unit is None or unit.id is None:
        return None
    chat = chat_of(role, unit.id)
    identity = session.exec(select(ChatIdentity).where(ChatIdentity.channel == CHANNEL,
                                                       ChatIdentity.external_id == chat)).first()
    person = session.get(Person, identity.person_id) if identity is not None else None
    if person is None or not person.active or person.unit_id != unit.id or person.role != role.value:
        person = Person(full_name=_(PERSON_NAME[role]), unit_id=unit.id, role=role.value, language="vi")
        session.add(person)
        session.flush()
        if identity is None:
            session.add(ChatIdentity(person_id=person.id, channel=CHANNEL, external_id=chat, chat_id=chat))
        else:
            identity.person_id, identity.reachable = person.id, True
    return _persona(session, role, unit)


def persona_of(session: Session, chat: str) -> Persona | None:
    """The persona of an existing web chat (None for an unknown or malformed id)."""
    parsed = parse_chat(chat)
    if parsed is None:
        return None
    identity = session.exec(select(ChatIdentity).where(ChatIdentity.channel == CHANNEL,
                                                       ChatIdentity.external_id == chat)).first()
    unit = session.get(Unit, parsed[1])
    if identity is None or unit is None:
        return None
    return _persona(session, parsed[0], unit)


def personas(session: Session) -> list[Persona]:
    """Every persona chosen so far, staff first, then officers, then chairs (by unit code)."""
    found = []
    for identity in session.exec(select(ChatIdentity).where(ChatIdentity.channel == CHANNEL)).all():
        persona = persona_of(session, identity.external_id)
        if persona is not None:
            found.append(persona)
    order = {Role.STAFF.value: 0, Role.OFFICER.value: 1, Role.CHAIR.value: 2}
    return sorted(found, key=lambda p: (order[p.role], p.unit_code))


@dataclass(frozen=True)
class Choices:
    """Units a visitor can pick: CĐCS grouped by their upper-level union, and the unions."""

    province: tuple[str, str] | None
    uppers: list[tuple[str, str]]
    grassroots: list[tuple[str, list[tuple[str, str]]]]


def choices(session: Session) -> Choices:
    units = session.exec(select(Unit).where(Unit.active == True).order_by(Unit.code)).all()  # noqa: E712
    by_id = {u.id: u for u in units}
    province = next(((u.code, u.name) for u in units if u.level == Level.PROVINCE), None)
    uppers = [(u.code, u.name) for u in units if u.level == Level.UPPER]
    groups: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for u in units:
        if u.level == Level.GRASSROOTS:
            parent = by_id.get(u.parent_id)
            groups[parent.name if parent is not None else ""].append((u.code, u.name))
    return Choices(province=province, uppers=uppers, grassroots=sorted(groups.items()))


def under(session: Session, upper_code: str) -> list[str]:
    """Codes of the CĐCS directly under an upper-level union (for quick choices and tests)."""
    parent = session.exec(select(Unit).where(Unit.code == upper_code)).first()
    if parent is None:
        return []
    return list(session.exec(select(Unit.code).where(Unit.parent_id == parent.id, Unit.active == True,  # noqa: E712
                                                     col(Unit.level) == Level.GRASSROOTS).order_by(Unit.code)))
