"""What composing and following notices share: the flow's name, its steps, its draft, who may act."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from bot.i18n import _
from bot.models import Person
from bot.services import notices
from handlers.base import Ctx, Draft, as_bool, as_datetime, as_int, as_int_list, as_str

FLOW = "notice"


class NoticeStep(StrEnum):
    """The compose steps (ConversationState.step); following a notice needs no step."""

    BODY = "body"
    CAPTION = "caption"
    AUDIENCE = "audience"
    UNIONS = "unions"
    SECTOR = "sector"
    CODES = "codes"
    OPTIONS = "options"
    SEND_AT = "send_at"
    PREVIEW = "preview"


@dataclass
class NoticeDraft(Draft):
    """The answers so far; the notice row itself exists from the first preview (notice_id)."""

    body: str = ""
    file_id: str | None = None  # "<channel>:<id>" of the document the sender sent
    file_name: str | None = None
    file_path: str | None = None  # the bot's own copy (bot/services/files.py), for any channel
    audience: dict[str, Any] | None = None  # see notices.AudienceKind for its shapes
    unions: list[int] = field(default_factory=list)  # chosen while at the unions step
    ack: bool = True  # ask recipients to acknowledge
    send_at: datetime | None = None  # None: send now
    notice_id: int | None = None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Self:
        audience = data.get("audience")
        return cls(
            body=as_str(data.get("body")) or "",
            file_id=as_str(data.get("file_id")),
            file_name=as_str(data.get("file_name")),
            file_path=as_str(data.get("file_path")),
            audience=dict(audience) if isinstance(audience, Mapping) and audience else None,
            unions=as_int_list(data.get("unions")),
            ack=as_bool(data.get("ack"), False),  # absent in a stored dict meant "not required"
            send_at=as_datetime(data.get("send_at")),
            notice_id=as_int(data.get("notice_id")),
        )

    def to_data(self) -> dict[str, Any]:
        return {
            "body": self.body,
            "file_id": self.file_id,
            "file_name": self.file_name,
            "file_path": self.file_path,
            "audience": self.audience,
            "unions": list(self.unions),
            "ack": self.ack,
            "send_at": self.send_at.isoformat() if self.send_at else None,
            "notice_id": self.notice_id,
        }


def allowed(ctx: Ctx) -> bool:
    """Only staff and officers broadcast; say so to anyone else and stop."""
    if notices.can_broadcast(ctx.person):
        return True
    if ctx.state.flow == FLOW:
        ctx.leave()
    ctx.say(_("Only provincial staff and officers of upper-level unions can send notices."))
    return False


def person(ctx: Ctx) -> Person:
    assert ctx.person is not None
    return ctx.person
