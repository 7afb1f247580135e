"""What every conversation handler gets: the context of one incoming message.

Button data has the shape ``s<version>:<flow>:<action>[:<arg>]``. The version is the
conversation's step counter when the button was drawn; a press whose version is not
the current one belongs to a step that has passed and is refused. Data that starts
with ``/`` is a command (menu buttons) and is valid at any time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import Session

from bot.config import Settings
from bot.messages import Incoming, Option, OutFile, Reply, Response
from bot.models import ChatIdentity, ConversationState, Person, Unit

CALLBACK_LIMIT = 64  # bytes, Telegram's limit for callback_data
MAX_ID = 2**31 - 1  # the largest id or position a command or a button may carry (PostgreSQL's INTEGER)
_ASCII_NUMBER = re.compile(r"[0-9]{1,10}")


@dataclass
class Ctx:
    """One incoming message being handled, with the database session and the person."""

    session: Session
    settings: Settings
    incoming: Incoming
    state: ConversationState
    identity: ChatIdentity | None
    person: Person | None
    now: datetime
    response: Response = field(default_factory=Response)
    memo: dict = field(default_factory=dict)  # per-update cache for lookups asked several times

    @property
    def unit(self) -> Unit | None:
        if self.person is None:
            return None
        key = ("unit", self.person.unit_id)
        if key not in self.memo:
            self.memo[key] = self.session.get(Unit, self.person.unit_id)
        return self.memo[key]

    @property
    def actor(self) -> str:
        return f"{self.incoming.channel}:{self.incoming.user_id}"

    def say(
        self,
        text: str,
        options: list[list[Option]] | None = None,
        *,
        numbered: bool = True,
        file: OutFile | None = None,
    ) -> Reply:
        """Queue a reply; options are rows of choices."""
        reply = Reply(text=text, options=options or [], numbered=numbered, file=file)
        self.response.replies.append(reply)
        return reply

    def toast(self, text: str) -> None:
        """A short notice shown on the pressed button (Telegram's callback answer)."""
        self.response.toast = text

    def option(self, label: str, flow: str, action: str, arg: str | int = "") -> Option:
        """A button valid only for the current step of this conversation."""
        data = f"s{self.state.version}:{flow}:{action}"
        if arg != "":
            data += f":{arg}"
        if len(data.encode()) > CALLBACK_LIMIT:
            raise ValueError(f"callback data too long: {data!r}")
        return Option(label, data)

    # ---- conversation state -------------------------------------------------

    def enter(self, flow: str, step: str, **data: object) -> None:
        """Start (or restart) a conversation flow at a step, replacing its data."""
        self.state.flow = flow
        self.state.step = step
        self.state.data = dict(data)

    def goto(self, step: str, **updates: object) -> None:
        """Move to another step of the current flow, updating its data."""
        self.state.step = step
        if updates:
            merged = dict(self.state.data)
            merged.update(updates)
            self.state.data = merged

    def update(self, **updates: object) -> None:
        merged = dict(self.state.data)
        merged.update(updates)
        self.state.data = merged

    def leave(self) -> None:
        """End the current flow (drafts kept elsewhere are not touched)."""
        self.state.flow = ""
        self.state.step = ""
        self.state.data = {}


def parse_id(text: str | None, *, minimum: int = 1) -> int | None:
    """An id or a list position typed in a command or carried by a button; None if it is not one.

    The one place such numbers are read: ASCII digits only (``str.isdigit`` also accepts
    "²" and Arabic-Indic digits, which ``int`` refuses or reads), at most MAX_ID (a
    20-digit number overflows the database driver). Callers answer None politely.
    """
    text = (text or "").strip()
    if not _ASCII_NUMBER.fullmatch(text):
        return None
    number = int(text)
    return number if minimum <= number <= MAX_ID else None


def parse_button(data: str) -> tuple[int, str, str, str] | None:
    """Split versioned button data into (version, flow, action, arg); None if malformed."""
    if not data.startswith("s"):
        return None
    parts = data[1:].split(":", 3)
    version = parse_id(parts[0], minimum=0) if len(parts) >= 3 else None
    if version is None:
        return None
    flow, action = parts[1], parts[2]
    arg = parts[3] if len(parts) == 4 else ""
    return version, flow, action, arg
