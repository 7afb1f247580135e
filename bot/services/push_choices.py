"""Choices of pushes, typed: a notice's "trả lời 1 (hoặc "đã nhận")" on a channel without buttons.

When a push that offers choices (a notice's "Đã nhận", a reminder's "Báo cáo ngay") is
delivered, its choices are kept in the recipient's conversation state. A later typed
answer that names one of them (its number, or its label with or without diacritics) is
taken exactly as the button would be — also when a conversation is open, as long as the
push is the newest thing the person saw. Without a conversation open, the label or
number works until another push with choices replaces it.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.clock import to_utc
from bot.messages import reply_from_json
from bot.models import ChatIdentity, ConversationState
from bot.textvn import fold

KEY = "_push"


def remember(session: Session, channel: str, chat_id: str, payload: dict, now: datetime) -> None:
    """Keep the choices of a delivered push in the recipient's state (nothing if it offers none)."""
    options = reply_from_json(payload).flat_options()
    if not options:
        return
    identity = session.exec(select(ChatIdentity).where(ChatIdentity.channel == channel,
                                                       ChatIdentity.chat_id == chat_id)).first()
    if identity is None:
        return
    state = session.exec(select(ConversationState).where(ConversationState.channel == channel,
                                                         ConversationState.external_id == identity.external_id)).first()
    if state is None:
        state = ConversationState(channel=channel, external_id=identity.external_id, data={}, updated_at=now)
    data = dict(state.data or {})
    data[KEY] = {"at": to_utc(now).isoformat(), "choices": [[i, o.label, o.data] for i, o in enumerate(options, 1)]}
    state.data = data
    session.add(state)


def resolve(state: ConversationState, text: str, *, conversation_first: bool) -> str | None:
    """The data of the push choice typed text names, or None.

    With `conversation_first` (the open conversation offers a matching choice too) only a
    push newer than the conversation's last step wins.
    """
    push = (state.data or {}).get(KEY)
    if not push:
        return None
    newer = state.updated_at is None or datetime.fromisoformat(push["at"]) > to_utc(state.updated_at)
    if state.flow and not newer:
        return None
    if conversation_first and not newer:
        return None
    typed = fold(text).strip(" .)\"'“”")
    for number, label, data in push.get("choices", []):
        if typed == str(number) or typed == fold(label):
            return data
    return None


def forget(state: ConversationState) -> None:
    data = dict(state.data or {})
    data.pop(KEY, None)
    state.data = data
