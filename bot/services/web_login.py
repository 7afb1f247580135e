"""Sign-in to the web dashboard without passwords: a single-use link sent in the chat (/web).

A link carries a random token; the database keeps only its SHA-256. Opening the link and
confirming (a POST, so that link previews and scanners do not spend it) redeems the token
once, within LINK_MINUTES, and starts a session: another random token, kept in a signed
cookie by the web layer, its hash here, good for SESSION_HOURS or until sign-out.
Every request looks the session up again, so an ended session, an expired one, or a person
who is no longer active (or whose role changed to one without the dashboard) is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlmodel import Session, col, func, select

from bot.clock import to_utc
from bot.models import Person, Role, WebLogin
from bot.services import audit

LINK_MINUTES = 10
SESSION_HOURS = 8
KEEP_DAYS = 30  # a person's old links and sessions are forgotten when they ask for a new one
MAX_LINKS = 5  # links one person may ask for within LINK_MINUTES
DASHBOARD_ROLES = frozenset({Role.CHAIR, Role.OFFICER, Role.STAFF, Role.ADMIN})


class LinkState(StrEnum):
    OK = "ok"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Redeemed:
    state: LinkState
    session_token: str | None = None
    person_id: int | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def may_sign_in(person: Person | None) -> bool:
    return person is not None and person.active and person.role in DASHBOARD_ROLES


def issue(session: Session, person: Person, now: datetime) -> str | None:
    """A new sign-in token for the person (None when they asked for too many just now)."""
    recent = session.exec(select(func.count()).select_from(WebLogin).where(
        WebLogin.person_id == person.id, WebLogin.created_at > now - timedelta(minutes=LINK_MINUTES))).one()
    if recent >= MAX_LINKS:
        return None
    session.exec(delete(WebLogin).where(  # type: ignore[call-overload]
        col(WebLogin.person_id) == person.id, col(WebLogin.created_at) < now - timedelta(days=KEEP_DAYS)))
    token = secrets.token_urlsafe(32)
    session.add(WebLogin(token_hash=_hash(token), person_id=person.id, created_at=now,  # type: ignore[arg-type]
                         expires_at=now + timedelta(minutes=LINK_MINUTES)))
    return token


def peek(session: Session, token: str, now: datetime) -> LinkState:
    """What opening the link would do, without spending it."""
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == _hash(token))).first()
    if row is None:
        return LinkState.UNKNOWN
    if row.used_at is not None:
        return LinkState.USED
    if to_utc(row.expires_at) <= now:
        return LinkState.EXPIRED
    person = session.get(Person, row.person_id)
    return LinkState.OK if may_sign_in(person) else LinkState.UNKNOWN


def redeem(session: Session, token: str, now: datetime) -> Redeemed:
    """Spend the link once (a guarded UPDATE, so two requests at once cannot both win) and start a session."""
    state = peek(session, token, now)
    if state != LinkState.OK:
        return Redeemed(state)
    session_token = secrets.token_urlsafe(32)
    spent = session.exec(  # type: ignore[call-overload]
        update(WebLogin).where(col(WebLogin.token_hash) == _hash(token), col(WebLogin.used_at).is_(None),
                               col(WebLogin.expires_at) > now)
        .values(used_at=now, session_hash=_hash(session_token), session_expires_at=now + timedelta(hours=SESSION_HOURS)))
    if spent.rowcount != 1:
        return Redeemed(LinkState.USED)
    row = session.exec(select(WebLogin).where(WebLogin.token_hash == _hash(token))).one()
    audit.record(session, "web.sign_in", entity="person", entity_id=row.person_id, person_id=row.person_id,
                 actor="web")
    return Redeemed(LinkState.OK, session_token, row.person_id)


def session_person(session: Session, session_token: str, now: datetime) -> Person | None:
    """The person of a live session (None: unknown, ended, expired, or the person may no longer sign in)."""
    row = session.exec(select(WebLogin).where(WebLogin.session_hash == _hash(session_token))).first()
    if row is None or row.ended_at is not None or row.session_expires_at is None:
        return None
    if to_utc(row.session_expires_at) <= now:
        return None
    person = session.get(Person, row.person_id)
    return person if may_sign_in(person) else None


def end(session: Session, session_token: str, now: datetime) -> None:
    """Sign out: the session's cookie is worthless from now on."""
    session.exec(update(WebLogin).where(col(WebLogin.session_hash) == _hash(session_token),  # type: ignore[call-overload]
                                        col(WebLogin.ended_at).is_(None)).values(ended_at=now))
