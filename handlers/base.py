"""What every conversation handler gets: the context of one incoming message, and what
a conversation flow must offer the router.

Button data has the shape ``s<version>:<flow>:<action>[:<arg>]``. The version is the
conversation's step counter when the button was drawn; a press whose version is not
the current one belongs to a step that has passed and is refused. Data that starts
with ``/`` is a command (menu buttons) and is valid at any time.

A flow is a module satisfying `Flow`: its name, and what to do with a pressed button,
typed text and a sent file. Its steps are a `StrEnum` (ConversationState.step stores the
value), so a misspelt step fails at once; `Ctx.enter`/`Ctx.goto` accept nothing else. A
stored step the flow no longer knows is read as None by `current_step` (and logged), and
the flow shows a step it knows instead. A flow's draft answers are a `Draft` dataclass
kept in ConversationState.data (keys starting with "_" belong to the router).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol, Self, TypeVar

from sqlmodel import Session

from bot.limits import ChannelLimits, limits_of
from bot.config import Settings
from bot.messages import FileRef, Incoming, Option, OutFile, Reply, Response
from bot.models import ChatIdentity, ConversationState, Person, Unit

log = logging.getLogger(__name__)

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
    def limits(self) -> ChannelLimits:
        """What the channel of this message accepts (text length, buttons, callback size)."""
        return limits_of(self.incoming.channel)

    def fits_callback(self, data: str) -> bool:
        """Whether button data fits the channel (no limit where the data stays on the server)."""
        limit = self.limits.callback_size
        return limit is None or len(data.encode()) <= limit

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
        if not self.fits_callback(data):
            raise ValueError(f"callback data too long: {data!r}")
        return Option(label, data)

    # ---- conversation state -------------------------------------------------

    def enter(self, flow: str, step: StrEnum, **data: object) -> None:
        """Start (or restart) a conversation flow at a step, replacing its data."""
        self.state.flow = flow
        self.state.step = checked_step(step)
        self.state.data = dict(data)

    def goto(self, step: StrEnum, **updates: object) -> None:
        """Move to another step of the current flow, updating its data."""
        self.state.step = checked_step(step)
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


# ---- flows ---------------------------------------------------------------------------------


ButtonHandler = Callable[[Ctx, str, str], None]
TextHandler = Callable[[Ctx, str], None]
FileHandler = Callable[[Ctx, FileRef], None]


class Flow(Protocol):
    """What the router needs of a conversation flow (each flow is a module)."""

    FLOW: str  # the name in button data and in ConversationState.flow

    def on_button(self, ctx: Ctx, action: str, arg: str) -> None:
        """A pressed button of this flow (its version already checked by the router)."""

    def on_text(self, ctx: Ctx, text: str) -> None:
        """Typed text while the chat is in this flow."""

    def on_file(self, ctx: Ctx, file: FileRef) -> None:
        """A file sent while the chat is in this flow (see `file_as_text` for flows that take none)."""


def file_as_text(on_text: TextHandler) -> FileHandler:
    """For a flow that takes no files: a file counts as its caption typed (often empty), so
    the current step is answered or asked again."""

    def on_file(ctx: Ctx, file: FileRef) -> None:
        on_text(ctx, (ctx.incoming.text or "").strip())

    on_file.__doc__ = "A file is not an answer here: handle its caption as typed text."
    return on_file


class UnknownStep(ValueError):
    """A step that is not a member of its flow's steps."""


S = TypeVar("S", bound=StrEnum)


def checked_step(step: object) -> str:
    """The stored form of a step; anything but a named step constant (a bare string) is refused."""
    if not isinstance(step, StrEnum):
        raise UnknownStep(f"steps are StrEnum members, not {step!r}")
    return step.value


def current_step(ctx: Ctx, steps: type[S]) -> S | None:
    """The conversation's step as a member of `steps`; None (logged) if the stored name is unknown."""
    try:
        return steps(ctx.state.step)
    except ValueError:
        log.warning("flow %s: unknown step %r, showing a known step instead", ctx.state.flow, ctx.state.step)
        return None


@dataclass(frozen=True)
class Step:
    """One step of a flow: how it is shown (again) and what typed text does there."""

    prompt: Callable[[Ctx, str | None], None]  # show the step, with an optional note above it
    on_text: TextHandler | None = None  # None: typed text shows the step again


V = TypeVar("V")


def step_table(steps: type[S], table: Mapping[S, V]) -> dict[S, V]:
    """A table keyed by step, checked to have an entry for every step (else it fails at import)."""
    missing = [s.value for s in steps if s not in table]
    if missing:
        raise UnknownStep(f"{steps.__name__}: no entry for {', '.join(missing)}")
    return dict(table)


# ---- drafts ----------------------------------------------------------------------------------


class Draft:
    """A flow's draft answers, serialised into ConversationState.data.

    Subclasses are dataclasses with `from_data` (tolerant: a conversation stored by an older
    version, with missing, extra or oddly typed keys, still loads) and `to_data` (JSON-safe).
    """

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        raise NotImplementedError

    def to_data(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def load(cls, ctx: Ctx) -> Self:
        return cls.from_data(ctx.state.data or {})

    def store(self, ctx: Ctx) -> None:
        """Write the draft into the conversation, keeping the router's own keys ("_…")."""
        kept = {k: v for k, v in (ctx.state.data or {}).items() if k.startswith("_")}
        ctx.state.data = {**kept, **self.to_data()}


def as_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return parse_id(value, minimum=0)
    return None


def as_str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def as_bool(value: object, default: bool = False) -> bool:
    return value if isinstance(value, bool) else (default if value is None else bool(value))


def as_int_list(value: object) -> list[int]:
    if not isinstance(value, (list, tuple)):
        return []
    return [i for i in (as_int(v) for v in value) if i is not None]


def as_datetime(value: object) -> datetime | None:
    """A datetime stored as ISO text (None, or unreadable text, gives None)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None
