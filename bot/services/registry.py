"""Units, people, chat identities and invite codes: who is who, and who may see what."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import bindparam, select as sa_select
from sqlmodel import Session, col, func, select

from bot.clock import utcnow
from bot.i18n import _
from bot.models import ChatIdentity, Invite, InviteAttempt, Level, Person, Role, Unit
from bot.services import audit

# Invite codes avoid look-alike characters (0/O, 1/I/L) so they can be read over the phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
MAX_FAILED_ATTEMPTS = 5
ATTEMPT_WINDOW = timedelta(hours=1)


def new_code(length: int = CODE_LENGTH) -> str:
    """A random invite code."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def normalise_code(text: str) -> str:
    """Upper-case a typed code and drop spaces and dashes people add."""
    return "".join(ch for ch in text.upper() if ch.isalnum())


def unit_by_code(session: Session, code: str) -> Unit | None:
    return session.exec(select(Unit).where(Unit.code == code)).first()


def create_invite(
    session: Session,
    unit: Unit,
    role: Role | str = Role.CHAIR,
    *,
    valid_days: int = 30,
    created_by: str = "cli",
    now: datetime | None = None,
) -> Invite:
    """Create a single-use invite for a unit and role (caller commits)."""
    now = now or utcnow()
    while True:
        code = new_code()
        if session.exec(select(Invite.id).where(Invite.code == code)).first() is None:
            break
    invite = Invite(
        code=code,
        unit_id=unit.id,
        role=str(role),
        created_at=now,
        expires_at=now + timedelta(days=valid_days),
        created_by=created_by,
    )
    session.add(invite)
    session.flush()
    audit.record(session, "invite.create", entity="invite", entity_id=invite.id,
                 actor=created_by, detail={"unit": unit.code, "role": str(role)})
    return invite


def open_invites(session: Session, unit_ids: list[int], role: Role | str, valid_until: datetime) -> dict[int, Invite]:
    """unit id → its newest unused invite for `role` that stays valid at least until `valid_until`."""
    found: dict[int, Invite] = {}
    for start in range(0, len(unit_ids), 500):
        chunk = unit_ids[start:start + 500]
        rows = session.exec(select(Invite).where(
            col(Invite.unit_id).in_(chunk), Invite.role == str(role), col(Invite.used_at).is_(None),
            Invite.expires_at >= valid_until).order_by(col(Invite.created_at))).all()
        for invite in rows:
            found[invite.unit_id] = invite  # the newest wins
    return found


def expire_invites(session: Session, invites: list[Invite], now: datetime, actor: str = "cli") -> None:
    """End unused invites now (replaced by new ones): a unit keeps one valid code."""
    for invite in invites:
        invite.expires_at = now
        session.add(invite)
    if invites:
        audit.record(session, "invite.expire", entity="invite", actor=actor, detail={"count": len(invites)})


class RedeemOutcome(StrEnum):
    BOUND = "bound"
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"
    THROTTLED = "throttled"
    UNIT_CLOSED = "unit_closed"


@dataclass
class RedeemResult:
    outcome: RedeemOutcome
    person: Person | None = None
    unit: Unit | None = None


def failed_attempts(session: Session, channel: str, external_id: str, now: datetime) -> int:
    return session.exec(
        select(func.count(InviteAttempt.id)).where(
            InviteAttempt.channel == channel,
            InviteAttempt.external_id == external_id,
            InviteAttempt.at > now - ATTEMPT_WINDOW,
        )
    ).one()


def redeem_invite(
    session: Session,
    code_text: str,
    *,
    channel: str,
    external_id: str,
    chat_id: str,
    display_name: str = "",
    username: str | None = None,
    language: str | None = None,
    now: datetime | None = None,
) -> RedeemResult:
    """Bind a chat account to the invite's unit and role, if the code is good.

    Failed attempts are counted per account; after MAX_FAILED_ATTEMPTS within an hour
    every attempt is refused (even a right code) until the window passes.
    """
    now = now or utcnow()
    if failed_attempts(session, channel, external_id, now) >= MAX_FAILED_ATTEMPTS:
        return RedeemResult(RedeemOutcome.THROTTLED)
    code = normalise_code(code_text)
    invite = session.exec(select(Invite).where(Invite.code == code)).first() if code else None
    outcome = None
    if invite is None:
        outcome = RedeemOutcome.UNKNOWN
    elif invite.used_at is not None:
        outcome = RedeemOutcome.USED
    elif invite.expires_at < now:
        outcome = RedeemOutcome.EXPIRED
    if outcome is not None:
        session.add(InviteAttempt(channel=channel, external_id=external_id, at=now))
        return RedeemResult(outcome)
    assert invite is not None
    unit = session.get(Unit, invite.unit_id)
    if unit is None or not unit.active:
        return RedeemResult(RedeemOutcome.UNIT_CLOSED)
    linked = linked_person(session, invite)
    if invite.created_by.startswith(LINK_PREFIX) and (linked is None or not linked.active):
        return RedeemResult(RedeemOutcome.UNKNOWN)
    # Claim the invite atomically: only one account can flip used_at from NULL.
    claimed = session.execute(
        Invite.__table__.update()
        .where(Invite.__table__.c.id == invite.id, Invite.__table__.c.used_at.is_(None))
        .values(used_at=now)
    ).rowcount
    if claimed != 1:
        return RedeemResult(RedeemOutcome.USED)
    identity = session.exec(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == external_id
        )
    ).first()
    if linked is not None:  # a link code: this account joins the person who asked for it
        person = linked
    else:
        person = Person(full_name=display_name, unit_id=unit.id, role=invite.role, language=language,
                        created_at=now)
        session.add(person)
        session.flush()
    if identity is None:
        identity = ChatIdentity(person_id=person.id, channel=channel, external_id=external_id,
                                chat_id=chat_id, username=username, created_at=now)
        session.add(identity)
    else:  # re-binding an account to a new invite: the old person stays in history
        identity.person_id = person.id
        identity.chat_id = chat_id
        identity.reachable = True
    session.execute(
        Invite.__table__.update().where(Invite.__table__.c.id == invite.id)
        .values(used_by_person_id=person.id)
    )
    audit.record(session, "identity.link" if linked is not None else "invite.redeem", entity="person",
                 entity_id=person.id,
                 person_id=person.id, actor=f"{channel}:{external_id}",
                 detail={"unit": unit.code, "role": invite.role, "invite": invite.id})
    return RedeemResult(RedeemOutcome.BOUND, person=person, unit=unit)


# ---- one person, several channels ---------------------------------------------------------

LINK_PREFIX = "link:"
LINK_VALID = timedelta(minutes=30)


def create_link_code(session: Session, person: Person, now: datetime | None = None) -> Invite:
    """A one-time code that binds another chat account (another channel) to the same person."""
    now = now or utcnow()
    unit = session.get(Unit, person.unit_id)
    assert unit is not None
    invite = create_invite(session, unit, person.role, valid_days=0, created_by=f"{LINK_PREFIX}{person.id}", now=now)
    invite.expires_at = now + LINK_VALID
    session.add(invite)
    return invite


def linked_person(session: Session, invite: Invite) -> Person | None:
    """The person a link code was made for (None for an ordinary invite)."""
    if not invite.created_by.startswith(LINK_PREFIX):
        return None
    person_id = invite.created_by[len(LINK_PREFIX):]
    return session.get(Person, int(person_id)) if person_id.isdigit() else None


def push_identities(session: Session, person_ids: list[int]) -> dict[int, ChatIdentity]:
    """The one chat account each person gets pushes on: a reachable one, then the one they wrote
    from last (/kenh says so in that chat), then the oldest (notices' recipients_select agrees)."""
    from bot.models import ConversationState

    idents: list[ChatIdentity] = []
    for start in range(0, len(person_ids), 500):
        idents += session.exec(select(ChatIdentity).where(
            col(ChatIdentity.person_id).in_(person_ids[start:start + 500]))).all()
    several = _people_with_several(idents)
    states: dict[tuple[str, str], ConversationState] = {}
    multi = [i for i in idents if i.person_id in several]
    for start in range(0, len(multi), 500):
        chunk = multi[start:start + 500]
        for state in session.exec(select(ConversationState).where(
                col(ConversationState.external_id).in_([i.external_id for i in chunk]))).all():
            states[(state.channel, state.external_id)] = state
    best: dict[int, tuple[tuple, ChatIdentity]] = {}
    for ident in idents:
        state = states.get((ident.channel, ident.external_id))
        used = state.updated_at.isoformat() if state is not None and state.updated_at else ""
        rank = (ident.reachable, used, -ident.id)
        current = best.get(ident.person_id)
        if current is None or rank > current[0]:
            best[ident.person_id] = (rank, ident)
    return {pid: ident for pid, (_rank, ident) in best.items()}


def _people_with_several(idents: list[ChatIdentity]) -> set[int]:
    counts: dict[int, int] = {}
    for i in idents:
        counts[i.person_id] = counts.get(i.person_id, 0) + 1
    return {pid for pid, n in counts.items() if n > 1}


def identity_and_person(session: Session, channel: str,
                        external_id: str) -> tuple[ChatIdentity | None, Person | None, Unit | None]:
    """A chat account, its person and the person's unit, in one query."""
    row = session.exec(_IDENTITY_PERSON_UNIT, params={"channel": channel, "external_id": external_id}).first()
    return (row[0], row[1], row[2]) if row is not None else (None, None, None)


# built once: building the expression anew cost more than running it (every update reads it)
_IDENTITY_PERSON_UNIT = (
    select(ChatIdentity, Person, Unit)
    .outerjoin(Person, col(Person.id) == col(ChatIdentity.person_id))
    .outerjoin(Unit, col(Unit.id) == col(Person.unit_id))
    .where(ChatIdentity.channel == bindparam("channel"), ChatIdentity.external_id == bindparam("external_id"))
)


def identity_of(session: Session, channel: str, external_id: str) -> ChatIdentity | None:
    return session.exec(
        select(ChatIdentity).where(
            ChatIdentity.channel == channel, ChatIdentity.external_id == external_id
        )
    ).first()


def subtree_ids(session: Session, root_id: int) -> set[int]:
    """Ids of a unit and every unit below it: one recursive query over parent links (a
    breadth-first walk sent each level's ids back as an IN list, more parameters than
    PostgreSQL takes at national size). UNION, not UNION ALL: a cycle in bad data ends it."""
    tree = sa_select(Unit.id).where(Unit.id == root_id).cte("subtree", recursive=True)
    tree = tree.union(sa_select(Unit.id).join(tree, col(Unit.parent_id) == tree.c.id))
    return set(session.execute(sa_select(tree.c.id)).scalars()) | {root_id}


def visible_unit_ids(session: Session, person: Person) -> set[int]:
    """The units a person may see: a chair their own; officers and staff their subtree."""
    if person.role == Role.CHAIR:
        return {person.unit_id}
    if person.role == Role.ADMIN:
        return set(session.exec(select(Unit.id)).all())
    return subtree_ids(session, person.unit_id)


def ancestors(session: Session, unit: Unit) -> list[Unit]:
    """The chain of units above `unit`, nearest first."""
    chain: list[Unit] = []
    seen = {unit.id}
    parent_id = unit.parent_id
    while parent_id is not None and parent_id not in seen:
        parent = session.get(Unit, parent_id)
        if parent is None:
            break
        chain.append(parent)
        seen.add(parent.id)
        parent_id = parent.parent_id
    return chain


def contact_for(session: Session, unit: Unit) -> tuple[Unit, str] | None:
    """The nearest unit above (or the unit itself, for upper levels) with a contact."""
    candidates = ancestors(session, unit) if unit.level == Level.GRASSROOTS else [unit, *ancestors(session, unit)]
    for candidate in candidates:
        if candidate.contact:
            return candidate, candidate.contact
    return None


def active_grassroots(session: Session) -> list[Unit]:
    return list(
        session.exec(
            select(Unit).where(Unit.level == Level.GRASSROOTS, Unit.active == True)  # noqa: E712
            .order_by(Unit.code)
        ).all()
    )


def invite_user(session: Session, code_text: str) -> int | None:
    """The person who redeemed a code, if any (to recognise a second click on one's own link)."""
    invite = session.exec(select(Invite).where(Invite.code == normalise_code(code_text))).first()
    return invite.used_by_person_id if invite else None


def role_label(role: str) -> str:
    """A role in words for people ("chủ tịch CĐCS"), not its code ("chair")."""
    return {
        Role.CHAIR: _("chair of the grassroots union (CĐCS)"),
        Role.OFFICER: _("officer of the upper-level union"),
        Role.STAFF: _("staff of the provincial federation"),
        Role.ADMIN: _("administrator"),
    }.get(role, str(role))
